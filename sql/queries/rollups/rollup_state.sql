-- The window the rollups describe (no row: there are none).
select as_of, lookback_days
from segflow.customer_window_rollup_state
