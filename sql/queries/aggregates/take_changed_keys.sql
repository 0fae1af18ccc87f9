-- The keys the capture triggers recorded and that this transaction can see (committed, or its own): taken out
-- of segflow.changed_line_keys into this fold (sign 0: to recompute). Keys of writers still in flight stay for the
-- next fold.
with taken as (
    delete from segflow.changed_line_keys
    returning customer_id, invoice_id, day
)

insert into folding_keys (customer_id, invoice_id, day)
select distinct customer_id, invoice_id, day
from taken
