-- The customers whose invoice_day_totals this fold removed or wrote: the next roll of the rollups recomputes them
-- (nothing to mark while there are no rollups).
insert into segflow.customer_window_rollup_stale (customer_id)
select distinct k.customer_id
from folding_keys as k
where k.customer_id is not null
    and k.sign <> 0
    and exists (select from segflow.customer_window_rollup_state)
on conflict (customer_id) do nothing
