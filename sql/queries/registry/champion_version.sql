select version
from segflow.model_versions
where status = 'champion'
