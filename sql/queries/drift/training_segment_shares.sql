-- Segment shares of a model's training sample.
select segment_key, size as customers, share
from segflow.model_segments
where model_version = %(version)s
order by segment_key
