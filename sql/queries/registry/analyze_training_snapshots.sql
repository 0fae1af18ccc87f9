-- Fresh planner statistics for the snapshot rows just copied in (ANALYZE counts this transaction's own
-- rows). Without them "rows of the new version" looks like none, and filling in their features became a
-- nested loop that scanned every customer_features row once per snapshot row: 20,000 x 2,000,000 rows,
-- over 20 minutes, at 1M customers.
analyze segflow.model_training_snapshots
