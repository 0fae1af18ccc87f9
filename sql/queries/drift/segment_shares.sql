-- Exact shares of every population of an attempt: each segment key its customers carry, rule segments
-- ('inactive', 'unscored', ...) included, over ALL the attempt's customers (they add to 1). As its own model
-- scored them, from the counts kept with its sample (segflow.run_segment_counts: there after its per-customer rows
-- are pruned), or, with under_model, as that model version re-scored them (segflow.comparison, which keeps the
-- rule segments as they are).
with counted as (
    select segment_key, customers
    from segflow.run_segment_counts
    where attempt_id = %(attempt_id)s and %(under_model)s::integer is null
),

compared as (
    select segment_key, count(*) as customers
    from segflow.comparison_assignments
    where attempt_id = %(attempt_id)s and model_version = %(under_model)s::integer
    group by segment_key
),

final as (
    select segment_key, customers, customers::double precision / sum(customers) over () as share
    from (select * from counted union all select * from compared) as populations
)

select segment_key, customers, share from final
order by segment_key
