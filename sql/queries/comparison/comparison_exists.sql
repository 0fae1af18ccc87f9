select exists (
    select from segflow.comparison_assignments
    where attempt_id = %(attempt_id)s and model_version = %(model_version)s
)
