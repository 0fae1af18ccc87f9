-- Segment history as ranges (issue 25): a customer's segment stored
-- once per stretch of published runs in which it did not change, instead of once per customer per run. A range is
-- keyed by as-of DATES, not runs, because backfills publish dates between others: it shows in every published run
-- whose as_of is in [valid_from, valid_to) (valid_to null: still open). Which runs are published is read from
-- run_attempts when the range is read, so withdrawing a run changes no range. opened_* are the values of the run
-- that opened the range (distance and confidence change every night; only the segment's identity is the key).
-- This migration fills it from the published runs' assignments once; publish's step 5 keeps it from then on.
create table segflow.segment_ranges (
    customer_id text not null,
    valid_from date not null,
    valid_to date,
    segment_key text not null,
    segment_name text not null,
    action text not null,
    model_version integer,
    cluster_key text,
    opened_run_id bigint not null,
    opened_distance double precision,
    opened_confidence double precision,
    primary key (customer_id, valid_from),
    check (valid_to is null or valid_to > valid_from)
);

-- No index on the open ranges: no reader asks for "valid_to is null" (a run's customers are the ranges covering its
-- date), and one would cost every closed range an index write. valid_from serves "a range starts after the date".
create index segment_ranges_valid_from_idx on segflow.segment_ranges (valid_from);

-- Gaps and islands over the published runs: a customer's island of consecutive published runs (no published run
-- without them in between) with one identity (key, name, action, model version, cluster) becomes one range, closed
-- at the next published run's as_of (null after the latest run).
insert into segflow.segment_ranges (
    customer_id, valid_from, valid_to, segment_key, segment_name, action, model_version, cluster_key,
    opened_run_id, opened_distance, opened_confidence
)
with published as (
    select attempt_id, run_id, as_of, lead(as_of) over (order by as_of) as next_as_of
    from segflow.run_attempts
    where status = 'published'
),

customer_runs as (
    select
        a.customer_id, p.run_id, p.as_of, p.next_as_of, a.segment_key, a.segment_name, a.action, a.model_version,
        a.cluster_key, a.distance, a.confidence,
        lag(p.next_as_of) over customer_order is distinct from p.as_of
        or lag(a.segment_key) over customer_order is distinct from a.segment_key
        or lag(a.segment_name) over customer_order is distinct from a.segment_name
        or lag(a.action) over customer_order is distinct from a.action
        or lag(a.model_version) over customer_order is distinct from a.model_version
        or lag(a.cluster_key) over customer_order is distinct from a.cluster_key as opens
    from published as p
    inner join segflow.segment_assignments as a on a.attempt_id = p.attempt_id
    window customer_order as (partition by a.customer_id order by p.as_of)
),

islands as (
    select *, count(*) filter (where opens) over (partition by customer_id order by as_of) as island
    from customer_runs
),

final as (
    select
        customer_id,
        min(as_of) as valid_from,
        (array_agg(next_as_of order by as_of desc))[1] as valid_to,
        min(segment_key) as segment_key,
        min(segment_name) as segment_name,
        min(action) as action,
        min(model_version) as model_version,
        min(cluster_key) as cluster_key,
        (array_agg(run_id order by as_of))[1] as opened_run_id,
        (array_agg(distance order by as_of))[1] as opened_distance,
        (array_agg(confidence order by as_of))[1] as opened_confidence
    from islands
    group by customer_id, island
)

select
    customer_id, valid_from, valid_to, segment_key, segment_name, action, model_version, cluster_key,
    opened_run_id, opened_distance, opened_confidence
from final;
