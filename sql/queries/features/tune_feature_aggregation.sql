-- For the feature aggregation, in its own transaction: room to sort every line in memory, and the
-- sort-based plan (one sort serves both the duplicate removal and the per-customer aggregation,
-- where hashing would sort a second time for count(distinct)).
set local work_mem = '256MB';
set local enable_hashagg = off
