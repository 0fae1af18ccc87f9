-- Step 8 of withdrawing: the champion the withdrawn run promoted retires, and its promotion no longer counts
-- (no promoted_at: a later withdrawal does not take it for the champion before another).
update segflow.model_versions
set status = 'retired', promoted_at = null
where version = %(version)s and status = 'champion'
returning version
