-- A published attempt's segments (from the summary its publish wrote): size, share and mean R/F/M, the
-- segment's action and its share of the run's revenue, most valuable first, rule segments last.
-- Revenue share: the segment's total monetary over the total of all the run's customers (inactive and
-- unscored included, so the shares add up to 1 like the customer shares); null when the run has no revenue
-- (customers clustered on attributes alone). Clustered segments take their action from the model that
-- scored them; the rule segments' actions are bound parameters (segflow.segments.RULE_SEGMENTS), as scoring
-- writes them.
with summaries as (
    select
        segment_key,
        segment_name,
        model_version,
        customers,
        share,
        mean_recency_days,
        mean_frequency,
        mean_monetary,
        total_monetary
    from segflow.segment_summaries
    where attempt_id = %(attempt_id)s
),

model_actions as (
    select model_version, segment_key, action
    from segflow.model_segments
),

rule_actions as (
    select r.segment_key, r.action
    from unnest(%(rule_keys)s::text[], %(rule_actions)s::text[]) as r (segment_key, action)
),

final as (
    select
        s.segment_key,
        s.segment_name,
        s.customers,
        s.share,
        s.mean_recency_days,
        s.mean_frequency,
        s.mean_monetary,
        coalesce(m.action, r.action) as action,
        (s.total_monetary / nullif(sum(s.total_monetary) over (), 0))::double precision as revenue_share
    from summaries as s
    left join model_actions as m on m.model_version = s.model_version and m.segment_key = s.segment_key
    left join rule_actions as r on r.segment_key = s.segment_key
)

select
    segment_key,
    segment_name,
    customers,
    share,
    mean_recency_days,
    mean_frequency,
    mean_monetary,
    action,
    revenue_share
from final
order by segment_key !~ '^S[0-9]+$', length(segment_key), segment_key
