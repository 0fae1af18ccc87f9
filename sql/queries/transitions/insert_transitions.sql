-- Customers per (from segment, to segment) between two published attempts. A customer only in the
-- later run comes from 'new_customer'; one only in the earlier run goes to 'gone'. With under_model not
-- null the earlier run's segments are as that model (the later run's) re-scored them.
insert into segflow.segment_transitions (
    from_run, to_run, from_segment_key, to_segment_key, customers, compared_under_model
)
with earlier as (
    select customer_id, segment_key
    from segflow.segment_assignments
    where attempt_id = %(from_attempt)s and %(under_model)s::integer is null
    union all
    select customer_id, segment_key
    from segflow.comparison_assignments
    where attempt_id = %(from_attempt)s and model_version = %(under_model)s::integer
),

later as (
    select customer_id, segment_key
    from segflow.segment_assignments
    where attempt_id = %(to_attempt)s
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
