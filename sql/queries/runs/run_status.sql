-- A run's as-of date and status (its published attempt's, else its latest attempt's).
select as_of, status
from segflow.runs
where run_id = %(run_id)s
