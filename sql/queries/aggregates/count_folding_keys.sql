-- How many distinct keys a fold removed or wrote.
select count(*)
from (select distinct customer_id, invoice_id, day from folding_keys where sign <> 0) as k
