-- For the rest of the generating transaction: the planner sees the generated rows as billions and would sort them
-- for a merge join against the 401-row Poisson table; a hash of that table is what each row should probe.
set local enable_mergejoin = off
