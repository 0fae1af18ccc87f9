-- Customers whose features from the aggregates differ from the full recompute (or are missing on one side):
-- how many, and the first few customer ids.
with compared as (
    select coalesce(a.customer_id, l.customer_id) as customer_id
    from features_from_aggregates as a
    full outer join features_from_lines as l on l.customer_id = a.customer_id
    where a.customer_id is null
        or l.customer_id is null
        or (a.recency_days, a.frequency, a.monetary, a.tenure_days, a.avg_order_value, a.return_rate)
        is distinct from (l.recency_days, l.frequency, l.monetary, l.tenure_days, l.avg_order_value, l.return_rate)
),

final as (
    select
        (select count(*) from features_from_lines) as customers,
        count(*) as differing,
        (array_agg(customer_id order by customer_id))[1:5] as examples
    from compared
)

select * from final
