-- A published attempt's segments into segflow.segment_ranges (issue 25; not yet a publish step): one algorithm for
-- the nightly (the latest date: changed customers close their open range and open one), a rerun of a date (its
-- stretch is overwritten) and a backfill of a date between two published runs (a range covering it is split in
-- three). Only customers whose segment identity at the date differs from the range covering it are touched; then
-- their adjacent ranges of one identity are merged. Statements in order; the temporary tables go at commit.

-- 1. Customers whose identity at the run's date changed (arrived without a range, differ, or left), with the range
-- covering the date (its old values) and where the new stretch ends: the next published run after the date, or the
-- customer's next range if it starts earlier (a range opened on a withdrawn date in between).
create temporary table range_changes on commit drop as
with run as (
    select run_id, as_of
    from segflow.run_attempts
    where attempt_id = %(attempt_id)s
),

next_run as (
    select min(a.as_of) as as_of
    from segflow.run_attempts as a
    inner join run as r on a.as_of > r.as_of
    where a.status = 'published'
),

arrived as (
    select customer_id, segment_key, segment_name, action, model_version, cluster_key, distance, confidence
    from segflow.segment_assignments
    where attempt_id = %(attempt_id)s
),

covering as (
    select g.*
    from segflow.segment_ranges as g
    inner join run as r on g.valid_from <= r.as_of and (g.valid_to is null or g.valid_to > r.as_of)
),

changed as (
    select
        coalesce(n.customer_id, c.customer_id) as customer_id,
        n.customer_id is not null as present,
        n.segment_key, n.segment_name, n.action, n.model_version, n.cluster_key, n.distance, n.confidence,
        c.valid_from as cover_from, c.valid_to as cover_to, c.segment_key as cover_key,
        c.segment_name as cover_name, c.action as cover_action, c.model_version as cover_model_version,
        c.cluster_key as cover_cluster_key, c.opened_run_id as cover_opened_run_id,
        c.opened_distance as cover_opened_distance, c.opened_confidence as cover_opened_confidence
    from arrived as n
    full outer join covering as c on c.customer_id = n.customer_id
    where c.customer_id is null
        or n.customer_id is null
        or (n.segment_key, n.segment_name, n.action, n.model_version, n.cluster_key)
        is distinct from (c.segment_key, c.segment_name, c.action, c.model_version, c.cluster_key)
),

final as (
    select
        ch.*,
        r.run_id,
        r.as_of,
        nr.as_of as next_as_of,
        least(
            nr.as_of,
            (
                select min(g.valid_from)
                from segflow.segment_ranges as g
                where g.customer_id = ch.customer_id and g.valid_from > r.as_of
            )
        ) as new_to
    from changed as ch
    cross join run as r
    cross join next_run as nr
)

select * from final;

-- 2. Their covering ranges go ...
delete from segflow.segment_ranges as g
using range_changes as c
where g.customer_id = c.customer_id and g.valid_from = c.cover_from;

-- 3. ... and come back in up to three pieces: the old value before the date, the new value from the date, and the
-- old value again from the next published run (only when a backfill or rerun landed inside the range).
insert into segflow.segment_ranges (
    customer_id, valid_from, valid_to, segment_key, segment_name, action, model_version, cluster_key,
    opened_run_id, opened_distance, opened_confidence
)
select
    customer_id, cover_from, as_of, cover_key, cover_name, cover_action, cover_model_version, cover_cluster_key,
    cover_opened_run_id, cover_opened_distance, cover_opened_confidence
from range_changes
where cover_from < as_of
union all
select
    customer_id, as_of, new_to, segment_key, segment_name, action, model_version, cluster_key, run_id, distance,
    confidence
from range_changes
where present
union all
select
    customer_id, next_as_of, cover_to, cover_key, cover_name, cover_action, cover_model_version, cover_cluster_key,
    cover_opened_run_id, cover_opened_distance, cover_opened_confidence
from range_changes
where cover_from is not null and next_as_of is not null and (cover_to is null or cover_to > next_as_of);

-- 4. The touched customers' adjacent ranges of one identity become one (the earliest keeps its opened_* values).
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
