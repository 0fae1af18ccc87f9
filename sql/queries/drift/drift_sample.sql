-- A deterministic sample of ALL an attempt's customers with their segment and features, for the drift report
-- ({attempt_id}, {under_model}, {seed} and {limit} are literals): rule segments ('inactive', 'unscored') are
-- in the segment column like any other. The features describe customers with a purchase in the lookback
-- window only: an inactive customer has no recency, frequency or monetary, and its tenure is left out too, so
-- that a wave of customers leaving shows in the segment column (and its own verdict) rather than as 'tenure
-- drifted'. With {under_model} not null, segments are as that model version re-scored them (segflow.comparison).
-- {everyone} false keeps the clustered customers only (the segment page's customer map).
copy (
    with assignments as (
        select customer_id, segment_key
        from segflow.segment_assignments
        where attempt_id = {attempt_id} and {under_model}::integer is null
        union all
        select customer_id, segment_key
        from segflow.comparison_assignments
        where attempt_id = {attempt_id} and model_version = {under_model}::integer
    )

    select
        a.customer_id, a.segment_key, f.recency_days::double precision as recency_days,
        f.frequency::double precision as frequency, f.monetary::double precision as monetary,
        (case when f.frequency is not null then f.tenure_days end)::double precision as tenure_days,
        f.avg_order_value::double precision as avg_order_value
    from assignments as a
    inner join segflow.customer_features as f on f.attempt_id = {attempt_id} and f.customer_id = a.customer_id
    where {everyone} or a.segment_key not in ('inactive', 'unscored')
    order by md5(a.customer_id || {seed}), a.customer_id
    limit {limit}
) to stdout with (format csv, header)
