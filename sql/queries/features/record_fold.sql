-- How a run brought the aggregates current (segflow.aggregates.Fold).
update segflow.run_attempts
set aggregates = %(aggregates)s::jsonb
where attempt_id = %(attempt_id)s
