-- Step 5 of publishing: the attempt's segments into segflow.segment_ranges (issue 25), one algorithm for the nightly
-- (the latest date: changed customers close their open range and open one), a rerun of a date (its stretch is
-- overwritten) and a backfill of a date between two published runs (a range covering it is split in three). Only
-- customers whose segment identity at the date differs from the range covering it are touched. Returns whether a
-- touched range can now meet a range of the same identity (then queries/history/merge_segment_ranges runs): never
-- on a plain nightly, since ranges only ever start or end at dates that were published once. The temporary table
-- goes at commit.

-- The change detection hash-joins the attempt's rows with the ranges covering the date (a million each at 1M
-- customers): in memory, not in batches on disk. For the rest of the publish transaction only.
set local work_mem = '256MB';

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

later_ranges as materialized (  -- the latest start is one probe of the valid_from index; false on a plain nightly
    select coalesce((select max(valid_from) from segflow.segment_ranges) > r.as_of, false) as found
    from run as r
),

published_before as (  -- the date was published once already (a rerun, or a rerun of a withdrawn date)
    select exists (
        select from segflow.run_attempts as a
        inner join run as r on a.run_id = r.run_id
        where a.attempt_id <> %(attempt_id)s and a.status in ('published', 'replaced', 'withdrawn')
    ) as found
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
        case
            when lr.found then least(
                nr.as_of,
                (
                    select min(g.valid_from)
                    from segflow.segment_ranges as g
                    where g.customer_id = ch.customer_id and g.valid_from > r.as_of
                )
            )
            else nr.as_of
        end as new_to,
        lr.found or pb.found or nr.as_of is not null as may_merge
    from changed as ch
    cross join run as r
    cross join next_run as nr
    cross join later_ranges as lr
    cross join published_before as pb
)

select * from final;

-- a whole-population night (a retrain changes every model_version) plans its joins on real counts
analyze range_changes;

-- 2. Their covering ranges end at the date (one update: on a retrain night it closes every open range) or, when
-- they started on it (a rerun), go ...
update segflow.segment_ranges as g
set valid_to = c.as_of
from range_changes as c
where g.customer_id = c.customer_id and g.valid_from = c.cover_from and c.cover_from < c.as_of;

delete from segflow.segment_ranges as g
using range_changes as c
where g.customer_id = c.customer_id and g.valid_from = c.cover_from and c.cover_from = c.as_of;

-- 3. ... and the new value starts at the date, with the old value again from the next published run (only when a
-- backfill or rerun landed inside the range). In key order: a whole-population night then fills the primary key's
-- pages one after another instead of at random.
insert into segflow.segment_ranges (
    customer_id, valid_from, valid_to, segment_key, segment_name, action, model_version, cluster_key,
    opened_run_id, opened_distance, opened_confidence
)
select * from (
    select
        customer_id, as_of as valid_from, new_to as valid_to, segment_key, segment_name, action, model_version,
        cluster_key, run_id as opened_run_id, distance as opened_distance, confidence as opened_confidence
    from range_changes
    where present
    union all
    select
        customer_id, next_as_of, cover_to, cover_key, cover_name, cover_action, cover_model_version,
        cover_cluster_key, cover_opened_run_id, cover_opened_distance, cover_opened_confidence
    from range_changes
    where cover_from is not null and next_as_of is not null and (cover_to is null or cover_to > next_as_of)
) as pieces
order by customer_id, valid_from;

select coalesce(bool_or(may_merge), false) as may_merge from range_changes
