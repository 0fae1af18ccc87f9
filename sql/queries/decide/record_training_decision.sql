update segflow.run_attempts
set retrained = %(retrained)s, retrain_reason = %(retrain_reason)s, model_version = %(model_version)s,
    outcome = %(outcome)s
where attempt_id = %(attempt_id)s
