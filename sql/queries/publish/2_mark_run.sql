-- Step 2 of publishing: the run itself.
update segflow.run_attempts
set status = 'published', published_at = now(), finished_at = now()
where attempt_id = %(attempt_id)s and status = 'running'
returning attempt_id
