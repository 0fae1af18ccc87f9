-- Exact shares of every population of an attempt: each segment key its customers carry, rule segments
-- ('inactive', 'unscored', ...) included, over ALL the attempt's customers (they add to 1). As its own model
-- scored them, or, with under_model, as that model version re-scored them (segflow.comparison, which keeps the
-- rule segments as they are).
with assignments as (
    select segment_key
    from segflow.segment_assignments
    where attempt_id = %(attempt_id)s and %(under_model)s::integer is null
    union all
    select segment_key
    from segflow.comparison_assignments
    where attempt_id = %(attempt_id)s and model_version = %(under_model)s::integer
),

final as (
    select segment_key, count(*) as customers, count(*)::double precision / sum(count(*)) over () as share
    from assignments
    group by segment_key
)

select segment_key, customers, share from final
order by segment_key
