-- The customers whose invoice_day_totals this fold removed or wrote: the next roll (or build) of the rollups
-- recomputes them. Marked whether or not rollups exist yet, so a build running beside this fold cannot miss it.
insert into segflow.customer_window_rollup_stale (customer_id)
select distinct k.customer_id
from folding_keys as k
where k.customer_id is not null
    and k.sign <> 0
on conflict (customer_id) do nothing
