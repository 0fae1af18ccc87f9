-- The segments of the run BI reads now: size, share, mean R/F/M, revenue, and each model segment's action
-- (rule segments such as 'inactive' carry theirs on every customer row, not in model_segments).
with summary as (
    select
        run_id, as_of, model_version, segment_key, segment_name, customers, share, mean_recency_days,
        mean_frequency, mean_monetary, total_monetary
    from segflow.segment_summary
    where is_current
),

actions as (
    select model_version, segment_key, action
    from segflow.model_segments
),

final as (
    select
        s.run_id, s.as_of, s.model_version, s.segment_key, s.segment_name, a.action, s.customers, s.share,
        s.mean_recency_days, s.mean_frequency, s.mean_monetary, s.total_monetary
    from summary as s
    left join actions as a on a.model_version = s.model_version and a.segment_key = s.segment_key
)

select * from final
order by segment_key !~ '^S[0-9]+$', length(segment_key), segment_key
