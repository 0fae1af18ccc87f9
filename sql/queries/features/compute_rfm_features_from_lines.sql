-- RFM features of every known customer (any line with a customer id up to the as-of date) for one
-- attempt, in a single pass over every line: the full recompute that compute_rfm_features.sql (from the
-- aggregates) must equal exactly; `segflow rebuild --check` and the tests compare the two.
-- What a purchase, a return and a duplicate are comes from the staging layer (sql/staging): distinct_lines
-- is the source's lines with exact duplicates counted once, sorted by customer and invoice, so the
-- per-customer aggregation, including count(distinct invoice_id), reuses that one sort.
-- Customers without a purchase in the lookback window get null recency/frequency/monetary.
insert into {target} (
    attempt_id, customer_id, recency_days, frequency, monetary, tenure_days, avg_order_value, return_rate
)

with params as (
    select
        %(attempt_id)s::bigint as attempt_id,
        %(as_of)s::date as as_of,
        ((%(as_of)s::date + 1 - %(lookback_days)s::integer)::timestamp at time zone 'UTC') as window_start_at
),

distinct_lines as (
    -- The date is written out (not taken from params) so the filter runs before duplicates are removed.
    select d.customer_id, d.invoice_id, d.invoiced_at, d.quantity, d.unit_price, d.is_purchase, d.is_return,
        d.returned_amount
    from ({distinct_lines}) as d
    where not d.is_unknown_customer
        and d.invoiced_at < ((%(as_of)s::date + 1)::timestamp at time zone 'UTC')
),

classified as (
    select
        d.customer_id,
        d.invoice_id,
        d.invoiced_at,
        d.quantity * d.unit_price as amount,
        d.is_purchase,
        d.is_return,
        d.returned_amount,
        d.invoiced_at >= p.window_start_at as in_window
    from distinct_lines as d
    cross join params as p
),

per_customer as (
    select
        customer_id,
        max(invoiced_at) filter (where is_purchase and in_window) as last_at,
        count(distinct invoice_id) filter (where is_purchase and in_window) as frequency,
        sum(amount) filter (where is_purchase and in_window) as monetary,
        min(invoiced_at) filter (where is_purchase) as first_at,
        coalesce(sum(returned_amount) filter (where is_return and in_window), 0) as returned
    from classified
    group by customer_id
),

final as (
    select
        p.attempt_id,
        c.customer_id,
        p.as_of - (c.last_at at time zone 'UTC')::date as recency_days,
        nullif(c.frequency, 0) as frequency,
        c.monetary,
        p.as_of - (c.first_at at time zone 'UTC')::date as tenure_days,
        c.monetary / nullif(c.frequency, 0) as avg_order_value,
        case when c.monetary > 0 then c.returned / c.monetary end as return_rate
    from per_customer as c
    cross join params as p
)

select * from final
