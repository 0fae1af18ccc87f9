select name, sha256
from segflow.schema_views
