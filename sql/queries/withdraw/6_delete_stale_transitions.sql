-- Step 6 of withdrawing: transitions into and out of the withdrawn run compare with a run that is no longer
-- published; they go (the next published run's are rebuilt against its new previous run after the transaction).
delete from segflow.segment_transitions
where from_run = %(run_id)s or to_run = %(run_id)s
returning from_run, to_run
