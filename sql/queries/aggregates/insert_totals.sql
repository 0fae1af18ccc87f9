-- One row per (customer, invoice, day) of the given lines, every rule of sql/staging applied once:
-- the staged distinct lines hold each distinct line with its number of copies, so a duplicate's extra copies count as
-- lines but not as purchases or returns. Written in day order (the day index is a block-range index); the keys
-- written, with their counts, are added to the fold's keys (sign +1) unless the fold recomputes everything.
with distinct_lines as (
    select
        d.customer_id,
        d.invoice_id,
        d.day,
        d.invoiced_at,
        d.quantity * d.unit_price as amount,
        d.is_unknown_customer,
        d.is_return,
        d.is_purchase,
        d.returned_amount,
        d.copies
    from ({distinct_lines}) as d
),

totals as (
    select
        customer_id,
        invoice_id,
        day,
        sum(copies) as lines,
        coalesce(sum(copies) filter (where not is_unknown_customer and is_return), 0) as return_lines,
        coalesce(sum(copies) filter (where not is_unknown_customer and not is_return and not is_purchase), 0)
            as non_positive_price_lines,
        count(*) filter (where is_purchase) as purchase_lines,
        coalesce(sum(amount) filter (where is_purchase), 0) as purchase_amount,
        min(invoiced_at) filter (where is_purchase) as first_purchase_at,
        max(invoiced_at) filter (where is_purchase) as last_purchase_at,
        coalesce(sum(returned_amount) filter (where not is_unknown_customer and is_return), 0) as returned_amount
    from distinct_lines
    group by customer_id, invoice_id, day
),

written as (
    insert into segflow.invoice_day_totals (
        customer_id, invoice_id, day, lines, return_lines, non_positive_price_lines, purchase_lines,
        purchase_amount, first_purchase_at, last_purchase_at, returned_amount
    )
    select
        customer_id, invoice_id, day, lines, return_lines, non_positive_price_lines, purchase_lines,
        purchase_amount, first_purchase_at, last_purchase_at, returned_amount
    from totals
    order by day
    returning *
)

insert into folding_keys (
    customer_id, invoice_id, day, sign, lines, unknown_customer_lines, return_lines, non_positive_price_lines,
    purchase_lines
)
select
    customer_id,
    invoice_id,
    day,
    1,
    lines,
    case when customer_id is null then lines else 0 end,
    return_lines,
    non_positive_price_lines,
    purchase_lines
from written
where %(record_keys)s
