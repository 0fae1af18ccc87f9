-- Step 4 of withdrawing: the published attempt becomes withdrawn, with when and why; its rows stay (history).
update segflow.run_attempts
set status = 'withdrawn', withdrawn_at = now(), withdrawn_reason = %(reason)s
where attempt_id = %(attempt_id)s and status = 'published'
returning attempt_id
