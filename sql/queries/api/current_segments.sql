-- The segments of the run BI reads now: size, share, mean R/F/M, revenue and action, as the read-only BI login
-- reads them (schema segflow_bi); the API's field names stay as they were (share, total_monetary).
with summary as (
    select
        run_id, as_of, model_version, segment_key, segment_name, action, customers, customer_share,
        mean_recency_days, mean_frequency, mean_monetary, revenue
    from segflow_bi.segment_summary
    where is_current
),

final as (
    select
        run_id, as_of, model_version, segment_key, segment_name, action, customers, customer_share as share,
        mean_recency_days, mean_frequency, mean_monetary, revenue as total_monetary
    from summary
)

select * from final
order by segment_key !~ '^S[0-9]+$', length(segment_key), segment_key
