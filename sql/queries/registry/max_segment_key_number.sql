-- The highest number used in a segment key S<n> by any model version (new keys continue after it).
select coalesce(max(substring(segment_key from 2)::integer), 0)
from segflow.model_segments
where segment_key ~ '^S[0-9]+$'
