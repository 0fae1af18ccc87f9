-- The attempt BI reads now, with its run and date (no row before the first publish).
select a.attempt_id, a.run_id, a.as_of
from segflow.current_run as c
inner join segflow.run_attempts as a on a.attempt_id = c.attempt_id
