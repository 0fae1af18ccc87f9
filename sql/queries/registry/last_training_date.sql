-- The latest training as-of date of any model version (champion, challenger or candidate) on these
-- features, at or before a run's as-of date.
select max(as_of)
from segflow.model_versions
where features = %(features)s::text[] and as_of <= %(as_of)s
