-- After step 5 of publishing, when it said a touched range may meet one of the same identity (a rerun, a backfill,
-- a date after a withdrawn one): the touched customers' adjacent ranges of one identity become one (the earliest
-- keeps its opened_* values). Needs step 5's range_changes (same transaction).
create temporary table range_merges on commit drop as
with ranges as (
    select
        g.*,
        lag(g.valid_to) over customer_order is distinct from g.valid_from
        or lag(g.segment_key) over customer_order is distinct from g.segment_key
        or lag(g.segment_name) over customer_order is distinct from g.segment_name
        or lag(g.action) over customer_order is distinct from g.action
        or lag(g.model_version) over customer_order is distinct from g.model_version
        or lag(g.cluster_key) over customer_order is distinct from g.cluster_key as opens
    from segflow.segment_ranges as g
    where g.customer_id in (select customer_id from range_changes)
    window customer_order as (partition by g.customer_id order by g.valid_from)
),

islands as (
    select *, count(*) filter (where opens) over (partition by customer_id order by valid_from) as island
    from ranges
),

final as (
    select
        customer_id,
        min(valid_from) as valid_from,
        (array_agg(valid_to order by valid_from desc))[1] as valid_to,
        min(segment_key) as segment_key,
        min(segment_name) as segment_name,
        min(action) as action,
        min(model_version) as model_version,
        min(cluster_key) as cluster_key,
        (array_agg(opened_run_id order by valid_from))[1] as opened_run_id,
        (array_agg(opened_distance order by valid_from))[1] as opened_distance,
        (array_agg(opened_confidence order by valid_from))[1] as opened_confidence
    from islands
    group by customer_id, island
    having count(*) > 1
)

select * from final;

delete from segflow.segment_ranges as g
using range_merges as m
where g.customer_id = m.customer_id
    and g.valid_from >= m.valid_from
    and (m.valid_to is null or g.valid_from < m.valid_to);

insert into segflow.segment_ranges (
    customer_id, valid_from, valid_to, segment_key, segment_name, action, model_version, cluster_key,
    opened_run_id, opened_distance, opened_confidence
)
select
    customer_id, valid_from, valid_to, segment_key, segment_name, action, model_version, cluster_key,
    opened_run_id, opened_distance, opened_confidence
from range_merges
