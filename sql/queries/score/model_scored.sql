-- How many of a run's customers the model scored (rule segments, which carry no distance, aside).
select count(*)
from segflow.segment_assignments
where attempt_id = %(attempt_id)s and distance is not null
