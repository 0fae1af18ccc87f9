select
    as_of, model_version, retrained, customers_known, retrain_reason, run_id, outcome, batch_changes, members_moved,
    members_returned_all, name_contradictions
from segflow.run_attempts
where attempt_id = %(attempt_id)s
