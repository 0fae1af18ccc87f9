select attempt_id, as_of, status, retrain_mode, features, lookback_days, window_start, model_version, rfm_cut_points
from segflow.run_attempts
where attempt_id = %(attempt_id)s
