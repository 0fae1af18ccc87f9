select segment_key, name, action
from segflow.model_segments
where model_version = %(version)s
order by segment_key
