select
    version, status, created_at, algorithm, k, features, as_of, sample_size,
    (metrics ->> 'silhouette')::double precision as silhouette
from segflow.model_versions
order by version desc
