-- The R/F/M quintile cut points a model version scores with.
select rfm_cut_points
from segflow.model_versions
where version = %(version)s
