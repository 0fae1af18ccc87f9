-- Customers per (from segment, to segment) between two published attempts. A customer only in the
-- later run comes from 'new_customer'; one only in the earlier run goes to 'gone'.
insert into segflow.segment_transitions (from_run, to_run, from_segment_key, to_segment_key, customers)
with earlier as (
    select customer_id, segment_key
    from segflow.segment_assignments
    where attempt_id = %(from_attempt)s
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
        count(*)::integer as customers
    from earlier as e
    full outer join later as l on l.customer_id = e.customer_id
    group by 1, 2, 3, 4
)

select * from final
