-- Remove the rows of the keys being folded (they are recomputed from their lines next), keeping their counts to
-- take off their days. Invoice and day nearly identify a key, so the join hashes on them; lines without a
-- customer have a null customer_id.
with gone as (
    delete from segflow.invoice_day_totals as t
    using folding_keys as k
    where t.invoice_id = k.invoice_id
        and t.day = k.day
        and t.customer_id is not distinct from k.customer_id
        and k.sign = 0
    returning t.*
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
