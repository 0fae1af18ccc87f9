-- Before building the rollups of a window anew: the stale list first (a fold committing later stays marked), then
-- every row.
delete from segflow.customer_window_rollup_stale;
truncate segflow.customer_window_rollups
