-- The first {limit} customers of an attempt's stored sample (segflow.run_samples, in hash order: a smaller sample is
-- the start of a larger one) with their segment and features, for the drift report ({attempt_id}, {under_model} and
-- {limit} are literals): rule segments ('inactive', 'unscored') are in the segment column like any other. The
-- features describe customers with a purchase in the lookback window only: an inactive customer has no recency,
-- frequency or monetary, and its tenure is left out too, so that a wave of customers leaving shows in the segment
-- column (and its own verdict) rather than as 'tenure drifted'. With {under_model} not null, segments are as that
-- model version re-scored them (segflow.comparison). {everyone} false keeps the clustered customers only (the
-- segment page's customer map).
copy (
    with sample as (
        select
            customer_id, sample_hash, segment_key, recency_days, frequency, monetary, tenure_days, avg_order_value
        from segflow.run_samples
        where attempt_id = {attempt_id}
    ),

    compared as (
        select customer_id, segment_key
        from segflow.comparison_assignments
        where attempt_id = {attempt_id} and model_version = {under_model}::integer
    ),

    segments as (
        select s.*, case when {under_model}::integer is null then s.segment_key else c.segment_key end as segment_now
        from sample as s
        left join compared as c on c.customer_id = s.customer_id
    )

    select
        customer_id, segment_now as segment_key, recency_days::double precision as recency_days,
        frequency::double precision as frequency, monetary::double precision as monetary,
        (case when frequency is not null then tenure_days end)::double precision as tenure_days,
        avg_order_value::double precision as avg_order_value
    from segments
    where segment_now is not null and ({everyone} or segment_now not in ('inactive', 'unscored'))
    order by sample_hash, customer_id
    limit {limit}
) to stdout with (format csv, header)
