-- Attempts whose per-customer rows retention dropped: readers then say so instead of finding nothing.
update segflow.run_attempts
set rows_dropped_at = now()
where attempt_id = any(%(attempt_ids)s::bigint[]) and rows_dropped_at is null
