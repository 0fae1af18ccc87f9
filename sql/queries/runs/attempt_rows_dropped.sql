-- Whether retention dropped an attempt's per-customer rows (SEGFLOW_SCORED_RUNS_KEPT), with its run and date.
select rows_dropped_at is not null as dropped, run_id, as_of
from segflow.run_attempts
where attempt_id = %(attempt_id)s
