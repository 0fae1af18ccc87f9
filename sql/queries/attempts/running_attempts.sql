-- Attempts still marked running, oldest first.
select attempt_id, as_of, started_at
from segflow.run_attempts
where status = 'running'
order by attempt_id
