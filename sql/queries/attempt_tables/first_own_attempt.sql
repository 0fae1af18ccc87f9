-- The first attempt whose per-customer rows have tables of their own (sql/migrations/016); older attempts' rows live
-- in the *_before_016 partitions.
select first_own_attempt
from segflow.per_attempt_tables
