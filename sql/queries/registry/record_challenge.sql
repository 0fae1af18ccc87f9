update segflow.model_versions
set challenge = %(challenge)s::jsonb
where version = %(version)s
