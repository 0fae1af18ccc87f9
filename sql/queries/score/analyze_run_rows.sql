-- Fresh planner statistics after a run's rows arrive: with the previous run's statistics, "rows of
-- this attempt" looks like almost none, and the joins of publishing, transitions and drift become
-- nested loops over a million rows each (a publish ran for over half an hour at 1M customers).
analyze segflow.customer_features, segflow.segment_assignments
