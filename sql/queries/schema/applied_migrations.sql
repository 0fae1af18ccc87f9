select version, sha256
from segflow.schema_migrations
order by version
