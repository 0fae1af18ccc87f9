-- Customers of an attempt who were not customers of the reference attempt: new since the reference. Null when
-- the reference attempt has no customer rows left (a replaced attempt's rows are deleted).
with now_customers as (
    select customer_id
    from segflow.customer_features
    where attempt_id = %(attempt_id)s
),

then_customers as (
    select customer_id
    from segflow.customer_features
    where attempt_id = %(reference_attempt)s
),

final as (
    select
        case
            when exists (select 1 from then_customers)
                then (
                    select count(*)
                    from now_customers as n
                    where not exists (select 1 from then_customers as t where t.customer_id = n.customer_id)
                )
        end as new_customers
)

select new_customers from final
