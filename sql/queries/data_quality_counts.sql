-- How many lines of the source table each data-quality rule excludes from purchases, as of a date.
-- Every line is counted once, by the first rule it breaks, in this order:
-- after the as-of date, unknown customer, cancellation or return (invoice 'C…' or quantity <= 0),
-- non-positive price; of the remaining purchase lines, extra copies of exact duplicates.
with params as (
    select ((%(as_of)s::date + 1)::timestamp at time zone 'UTC') as end_at
),

rules as (
    select
        count(*) as lines_total,
        count(*) filter (where t.invoiced_at >= p.end_at) as after_as_of,
        count(*) filter (where t.invoiced_at < p.end_at and t.customer_id is null) as unknown_customer,
        count(*) filter (
            where t.invoiced_at < p.end_at and t.customer_id is not null
                and (t.invoice_id::text like 'C%%' or t.quantity <= 0)
        ) as cancellation_or_return,
        count(*) filter (
            where t.invoiced_at < p.end_at and t.customer_id is not null
                and not (t.invoice_id::text like 'C%%' or t.quantity <= 0) and t.unit_price <= 0
        ) as non_positive_price
    from {source} as t
    cross join params as p
),

purchase_rows as (
    -- The date is written out (not taken from params) so the filter runs before duplicates are removed.
    select d.customer_id
    from ({distinct_lines}) as d
    where d.invoiced_at < ((%(as_of)s::date + 1)::timestamp at time zone 'UTC') and d.customer_id is not null
        and d.invoice_id not like 'C%%' and d.quantity > 0 and d.unit_price > 0
),

final as (
    select
        r.lines_total,
        (select count(*) from purchase_rows) as purchase_lines,
        r.after_as_of as excluded_after_as_of,
        r.unknown_customer as excluded_unknown_customer,
        r.cancellation_or_return as excluded_cancellation_or_return,
        r.non_positive_price as excluded_non_positive_price,
        r.lines_total - r.after_as_of - r.unknown_customer - r.cancellation_or_return - r.non_positive_price
            - (select count(*) from purchase_rows) as excluded_duplicate
    from rules as r
)

select * from final
