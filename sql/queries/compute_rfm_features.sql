-- RFM features of every known customer (any line with a customer id up to the as-of date) for one run.
-- Exact duplicate lines count once. Purchases: quantity > 0, unit_price > 0, invoice not 'C…'.
-- Returns: cancellations or negative quantities (with a positive price), valued at quantity * price.
-- Customers without a purchase in the lookback window get null recency/frequency/monetary.
insert into segflow.customer_features (
    attempt_id, customer_id, recency_days, frequency, monetary, tenure_days, avg_order_value, return_rate
)

with params as (
    select
        %(attempt_id)s::bigint as attempt_id,
        %(as_of)s::date as as_of,
        ((%(as_of)s::date + 1)::timestamp at time zone 'UTC') as end_at,
        ((%(as_of)s::date + 1 - %(lookback_days)s::integer)::timestamp at time zone 'UTC') as window_start_at
),

known_lines as (
    select distinct
        t.invoice_id, t.stock_code, t.description, t.quantity, t.unit_price, t.invoiced_at, t.customer_id, t.country
    from segflow.transactions as t
    cross join params as p
    where t.customer_id is not null and t.invoiced_at < p.end_at
),

purchases as (
    select customer_id, invoice_id, invoiced_at, quantity * unit_price as amount
    from known_lines
    where quantity > 0 and unit_price > 0 and invoice_id not like 'C%%'
),

returns as (
    select customer_id, invoiced_at, abs(quantity) * unit_price as amount
    from known_lines
    where (invoice_id like 'C%%' or quantity < 0) and unit_price > 0
),

first_purchase as (
    select customer_id, min(invoiced_at) as first_at
    from purchases
    group by customer_id
),

window_purchases as (
    select
        pu.customer_id,
        max(pu.invoiced_at) as last_at,
        count(distinct pu.invoice_id) as frequency,
        sum(pu.amount) as monetary
    from purchases as pu
    cross join params as p
    where pu.invoiced_at >= p.window_start_at
    group by pu.customer_id
),

window_returns as (
    select r.customer_id, sum(r.amount) as returned
    from returns as r
    cross join params as p
    where r.invoiced_at >= p.window_start_at
    group by r.customer_id
),

known_customers as (
    select distinct customer_id
    from known_lines
),

final as (
    select
        p.attempt_id,
        k.customer_id,
        p.as_of - (w.last_at at time zone 'UTC')::date as recency_days,
        w.frequency,
        w.monetary,
        p.as_of - (f.first_at at time zone 'UTC')::date as tenure_days,
        w.monetary / w.frequency as avg_order_value,
        case when w.monetary > 0 then coalesce(r.returned, 0) / w.monetary end as return_rate
    from known_customers as k
    cross join params as p
    left join window_purchases as w on w.customer_id = k.customer_id
    left join first_purchase as f on f.customer_id = k.customer_id
    left join window_returns as r on r.customer_id = k.customer_id
)

select * from final
