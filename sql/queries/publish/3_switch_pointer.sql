-- Step 3 of publishing: BI reads this attempt, unless a run with a later as-of date is already current
-- (a backfill of an older date must not hide today's segments).
insert into segflow.current_run as cr (singleton, attempt_id)
values (true, %(attempt_id)s)
on conflict (singleton) do update
set attempt_id = excluded.attempt_id, switched_at = now()
where (select as_of from segflow.run_attempts where attempt_id = cr.attempt_id)
    <= (select as_of from segflow.run_attempts where attempt_id = excluded.attempt_id)
    or (select status from segflow.run_attempts where attempt_id = cr.attempt_id) <> 'published'
