-- A published attempt's segments for the app: size, share of customers, revenue and its share, the
-- segment's action (rule segments get theirs in Python) and mean R/F/M; most valuable first, rules last.
with summaries as (
    select segment_key, segment_name, model_version, customers, share, total_monetary, mean_recency_days,
        mean_frequency, mean_monetary
    from segflow.segment_summaries
    where attempt_id = %(attempt_id)s
),

totals as (
    select sum(total_monetary) as revenue
    from summaries
),

final as (
    select
        s.segment_key,
        s.segment_name,
        m.action,
        s.customers,
        s.share,
        s.total_monetary::double precision as revenue,
        (s.total_monetary / nullif(t.revenue, 0))::double precision as revenue_share,
        s.mean_recency_days,
        s.mean_frequency,
        s.mean_monetary
    from summaries as s
    cross join totals as t
    left join segflow.model_segments as m on m.model_version = s.model_version and m.segment_key = s.segment_key
)

select * from final
order by segment_key !~ '^S[0-9]+$', length(segment_key), segment_key
