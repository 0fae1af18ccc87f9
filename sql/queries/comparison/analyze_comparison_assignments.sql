-- Fresh planner statistics once a re-scored attempt's rows are in (ANALYZE counts this transaction's own
-- rows): the transitions and drift queries that follow join these rows with a whole run's assignments.
analyze segflow.comparison_assignments
