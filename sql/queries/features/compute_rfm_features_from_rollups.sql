-- RFM features of every known customer for one attempt, from the per-customer rollups of the lookback window
-- (sql/migrations/018; segflow/data/rollups.py brings them to the night's as-of date): one row per customer instead
-- of every invoice-day of the window. Only when the rollups describe this as-of date and lookback (rollups_usable);
-- recency and tenure come from the as-of date here, never stored. Equal, exactly, to compute_rfm_features.sql and
-- to compute_rfm_features_from_lines.sql over every line.
-- Customers without a purchase in the lookback window get null recency/frequency/monetary.
-- Only the customers of one partition (segflow.customer_partition) unless %(partitions)s is 1.
insert into {target} (
    attempt_id, customer_id, recency_days, frequency, monetary, tenure_days, avg_order_value, return_rate
)

with params as (
    select
        %(attempt_id)s::bigint as attempt_id,
        %(as_of)s::date as as_of,
        ((%(as_of)s::date + 1)::timestamp at time zone 'UTC') as end_at
),

rollups as (
    select r.customer_id, r.last_purchase_at, r.frequency, r.monetary, r.returned
    from segflow.customer_window_rollups as r
    where (%(partitions)s::integer = 1 or segflow.customer_partition(r.customer_id, %(partitions)s::integer) = %(partition)s::integer)
),

known as (
    select
        f.customer_id,
        case when f.first_purchase_at < p.end_at then f.first_purchase_at end as first_at
    from segflow.customer_firsts as f
    cross join params as p
    where f.first_line_day <= p.as_of
        and (%(partitions)s::integer = 1 or segflow.customer_partition(f.customer_id, %(partitions)s::integer) = %(partition)s::integer)
),

final as (
    select
        p.attempt_id,
        k.customer_id,
        p.as_of - (c.last_purchase_at at time zone 'UTC')::date as recency_days,
        nullif(c.frequency, 0) as frequency,
        c.monetary,
        p.as_of - (k.first_at at time zone 'UTC')::date as tenure_days,
        c.monetary / nullif(c.frequency, 0) as avg_order_value,
        case when c.monetary > 0 then coalesce(c.returned, 0) / c.monetary end as return_rate
    from known as k
    left join rollups as c on c.customer_id = k.customer_id
    cross join params as p
)

select * from final
