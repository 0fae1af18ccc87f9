-- Step 1 of withdrawing: hold BI's pointer for the transaction, so that no night publishes (and moves it) while
-- a run is taken back, and two withdrawals take turns.
select attempt_id
from segflow.current_run
for update
