-- RFM features of every known customer (any line with a customer id up to the as-of date) for one attempt,
-- from the aggregates (sql/migrations/009): who is known and since when from customer_firsts, what they bought
-- and returned in the lookback window from the window's invoice_day_totals rows. A night reads the window, not
-- history. Equal, exactly, to compute_rfm_features_from_lines.sql over every line.
-- Customers without a purchase in the lookback window get null recency/frequency/monetary.
-- Only the customers of one partition (segflow.customer_partition) unless %(partitions)s is 1: the nightly can
-- split the population into partitions, each its own task run.
insert into {target} (
    attempt_id, customer_id, recency_days, frequency, monetary, tenure_days, avg_order_value, return_rate
)

with params as (
    select
        %(attempt_id)s::bigint as attempt_id,
        %(as_of)s::date as as_of,
        ((%(as_of)s::date + 1)::timestamp at time zone 'UTC') as end_at
),

window_totals as (
    -- The dates are written out (not taken from params) so the day index can use them.
    select t.customer_id, t.invoice_id, t.purchase_lines, t.purchase_amount, t.last_purchase_at, t.returned_amount
    from segflow.invoice_day_totals as t
    where t.customer_id is not null
        and t.day >= %(as_of)s::date + 1 - %(lookback_days)s::integer
        and t.day <= %(as_of)s::date
        and (%(partitions)s::integer = 1 or segflow.customer_partition(t.customer_id, %(partitions)s::integer) = %(partition)s::integer)
),

per_invoice as (
    -- An invoice whose lines span days has a row per day: counted once here.
    select
        customer_id,
        invoice_id,
        bool_or(purchase_lines > 0) as purchased,
        max(last_purchase_at) as last_at,
        sum(purchase_amount) as purchase_amount,
        sum(returned_amount) as returned_amount
    from window_totals
    group by customer_id, invoice_id
),

per_customer as (
    select
        customer_id,
        max(last_at) as last_at,
        count(*) filter (where purchased) as frequency,
        sum(purchase_amount) filter (where purchased) as monetary,
        sum(returned_amount) as returned
    from per_invoice
    group by customer_id
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
        p.as_of - (c.last_at at time zone 'UTC')::date as recency_days,
        nullif(c.frequency, 0) as frequency,
        c.monetary,
        p.as_of - (k.first_at at time zone 'UTC')::date as tenure_days,
        c.monetary / nullif(c.frequency, 0) as avg_order_value,
        case when c.monetary > 0 then coalesce(c.returned, 0) / c.monetary end as return_rate
    from known as k
    left join per_customer as c on c.customer_id = k.customer_id
    cross join params as p
)

select * from final
