-- Exact segment shares of an attempt's clustered customers (rule segments left out): as its own model
-- scored them, or, with under_model, as that model version re-scored them (segflow.comparison).
with assignments as (
    select segment_key
    from segflow.segment_assignments
    where attempt_id = %(attempt_id)s and %(under_model)s::integer is null
    union all
    select segment_key
    from segflow.comparison_assignments
    where attempt_id = %(attempt_id)s and model_version = %(under_model)s::integer
)

select segment_key, count(*) as customers, count(*)::double precision / sum(count(*)) over () as share
from assignments
where segment_key not in ('inactive', 'unscored')
group by segment_key
order by segment_key
