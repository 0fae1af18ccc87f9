-- Step 5 of withdrawing: when BI read the withdrawn attempt, it reads the previous published run instead.
update segflow.current_run
set attempt_id = %(to_attempt)s, switched_at = now()
where attempt_id = %(from_attempt)s
returning attempt_id
