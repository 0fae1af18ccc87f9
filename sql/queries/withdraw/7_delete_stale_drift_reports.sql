-- Step 7 of withdrawing: another run's drift report against the withdrawn run compares with a run that is no
-- longer published; it goes (the withdrawn run's own reports stay with its history).
delete from segflow.drift_reports
where reference_run = %(run_id)s and run_id <> %(run_id)s
returning run_id
