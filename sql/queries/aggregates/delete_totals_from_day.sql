-- Remove the rows of days from a watermark on (a source re-read by day), keeping their keys and counts.
with gone as (
    delete from segflow.invoice_day_totals
    where day >= %(from_day)s
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
    -1,
    lines,
    case when customer_id is null then lines else 0 end,
    return_lines,
    non_positive_price_lines,
    purchase_lines
from gone
