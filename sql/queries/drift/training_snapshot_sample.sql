-- The training snapshot of a model version ({version} is a literal), in the drift sample's columns.
copy (
    select customer_id, segment_key, recency_days, frequency, monetary, tenure_days, avg_order_value
    from segflow.model_training_snapshots
    where model_version = {version}
    order by customer_id
) to stdout with (format csv, header)
