-- Remove the rows of days from a watermark on (a source re-read by day), keeping their keys for the refresh.
with gone as (
    delete from segflow.invoice_day_totals
    where day >= %(from_day)s
    returning customer_id, invoice_id, day
)

insert into folding_keys (customer_id, invoice_id, day)
select customer_id, invoice_id, day
from gone
