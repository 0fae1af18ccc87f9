update segflow.run_attempts
set batch_changes = %(batch_changes)s::jsonb
where attempt_id = %(attempt_id)s
