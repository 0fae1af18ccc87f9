-- Customers per (from segment, to segment) between two published runs. A customer only in the later run comes from
-- 'new_customer'; one only in the earlier run goes to 'gone'. Segments come from segflow.segment_ranges (the range
-- covering each run's date: exact for any published run, whether or not its per-customer rows are kept). With
-- under_model not null the earlier run's segments are as that model (the later run's) re-scored them.
insert into segflow.segment_transitions (
    from_run, to_run, from_segment_key, to_segment_key, customers, compared_under_model
)
with dates as (
    select
        (select as_of from segflow.run_keys where run_id = %(from_run)s) as from_as_of,
        (select as_of from segflow.run_keys where run_id = %(to_run)s) as to_as_of
),

earlier as (
    select g.customer_id, g.segment_key
    from segflow.segment_ranges as g
    inner join dates as d on g.valid_from <= d.from_as_of and (g.valid_to is null or g.valid_to > d.from_as_of)
    where %(under_model)s::integer is null
    union all
    select customer_id, segment_key
    from segflow.comparison_assignments
    where attempt_id = %(from_attempt)s and model_version = %(under_model)s::integer
),

later as (
    select g.customer_id, g.segment_key
    from segflow.segment_ranges as g
    inner join dates as d on g.valid_from <= d.to_as_of and (g.valid_to is null or g.valid_to > d.to_as_of)
),

final as (
    select
        %(from_run)s::bigint as from_run,
        %(to_run)s::bigint as to_run,
        coalesce(e.segment_key, 'new_customer') as from_segment_key,
        coalesce(l.segment_key, 'gone') as to_segment_key,
        count(*)::integer as customers,
        %(under_model)s::integer as compared_under_model
    from earlier as e
    full outer join later as l on l.customer_id = e.customer_id
    group by 1, 2, 3, 4
)

select * from final
