-- A deterministic sample of an attempt's clustered customers with their segment and features,
-- for the drift report ({attempt_id}, {seed} and {limit} are literals).
copy (
    select
        a.customer_id, a.segment_key, f.recency_days::double precision as recency_days,
        f.frequency::double precision as frequency, f.monetary::double precision as monetary,
        f.tenure_days::double precision as tenure_days, f.avg_order_value::double precision as avg_order_value
    from segflow.segment_assignments as a
    inner join segflow.customer_features as f on f.attempt_id = a.attempt_id and f.customer_id = a.customer_id
    where a.attempt_id = {attempt_id} and a.segment_key not in ('inactive', 'unscored')
    order by md5(a.customer_id || {seed}), a.customer_id
    limit {limit}
) to stdout with (format csv, header)
