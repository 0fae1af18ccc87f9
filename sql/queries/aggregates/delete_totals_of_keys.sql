-- Remove the rows of the keys being folded (they are recomputed from their lines next). Invoice and day
-- nearly identify a key, so the join hashes on them; lines without a customer have a null customer_id.
delete from segflow.invoice_day_totals as t
using folding_keys as k
where t.invoice_id = k.invoice_id
    and t.day = k.day
    and t.customer_id is not distinct from k.customer_id
