select model_version, features
from segflow.run_attempts
where attempt_id = %(attempt_id)s
