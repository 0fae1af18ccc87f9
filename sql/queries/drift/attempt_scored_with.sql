-- The model version of an attempt's assignments (one per attempt: scoring replaces them all).
select model_version
from segflow.segment_assignments
where attempt_id = %(attempt_id)s
limit 1
