-- How many transaction lines each data-quality rule excludes from purchases, as of a date.
-- Every line is counted once, by the first rule it breaks, in this order:
-- after the as-of date, unknown customer, cancellation or return (invoice 'C…' or quantity <= 0),
-- non-positive price; of the remaining purchase lines, extra copies of exact duplicates.
with params as (
    select ((%(as_of)s::date + 1)::timestamp at time zone 'UTC') as end_at
),

lines as (
    select
        t.invoice_id,
        t.stock_code,
        t.description,
        t.quantity,
        t.unit_price,
        t.invoiced_at,
        t.customer_id,
        t.country,
        case
            when t.invoiced_at >= p.end_at then 'after_as_of'
            when t.customer_id is null then 'unknown_customer'
            when t.invoice_id like 'C%%' or t.quantity <= 0 then 'cancellation_or_return'
            when t.unit_price <= 0 then 'non_positive_price'
            else 'purchase'
        end as rule
    from segflow.transactions as t
    cross join params as p
),

purchase_rows as (
    select distinct invoice_id, stock_code, description, quantity, unit_price, invoiced_at, customer_id, country
    from lines
    where rule = 'purchase'
),

final as (
    select
        (select count(*) from lines) as lines_total,
        (select count(*) from purchase_rows) as purchase_lines,
        count(*) filter (where rule = 'after_as_of') as excluded_after_as_of,
        count(*) filter (where rule = 'unknown_customer') as excluded_unknown_customer,
        count(*) filter (where rule = 'cancellation_or_return') as excluded_cancellation_or_return,
        count(*) filter (where rule = 'non_positive_price') as excluded_non_positive_price,
        count(*) filter (where rule = 'purchase') - (select count(*) from purchase_rows) as excluded_duplicate
    from lines
)

select * from final
