-- The segments of a model version that inherited a key but not its name (their mean R/F/M scores no longer fitted
-- it): key, the inherited name, the new name.
select segment_key, renamed_from, name
from segflow.model_segments
where model_version = %(version)s and renamed_from is not null
order by segment_key
