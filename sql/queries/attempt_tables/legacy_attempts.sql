-- Attempts from before sql/migrations/016 whose rows still are in the *_before_016 partitions.
select a.attempt_id
from segflow.run_attempts as a
cross join segflow.per_attempt_tables as p
where a.attempt_id < p.first_own_attempt
    and a.rows_dropped_at is null
order by a.attempt_id
