-- A rebuild of the aggregates discards the rollups: the next night builds them again from the rebuilt window.
truncate segflow.customer_window_rollups, segflow.customer_window_rollup_state, segflow.customer_window_rollup_stale
