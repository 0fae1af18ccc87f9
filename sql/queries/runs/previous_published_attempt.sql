-- The published run just before an attempt's as-of date, and its published attempt.
select p.run_id, p.attempt_id
from segflow.run_attempts as p
where p.status = 'published'
    and p.as_of < (select as_of from segflow.run_attempts where attempt_id = %(attempt_id)s)
order by p.as_of desc
limit 1
