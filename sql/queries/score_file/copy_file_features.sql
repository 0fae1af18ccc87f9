-- The features of the file's active customers as CSV with a header, for scoring in chunks.
copy (
    select customer_id, recency_days, frequency, monetary, tenure_days, avg_order_value, return_rate
    from score_file_features
    where frequency is not null
    order by customer_id
) to stdout with (format csv, header)
