-- Published runs, the latest as-of date first.
select run_id
from segflow.run_attempts
where status = 'published'
order by as_of desc
