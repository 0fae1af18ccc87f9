-- The rolling customers' rows, recomputed next.
delete from segflow.customer_window_rollups as r
using rolling_customers as c
where r.customer_id = c.customer_id
