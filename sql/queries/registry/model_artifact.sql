select artifact_path, artifact_sha256
from segflow.model_versions
where version = %(version)s
