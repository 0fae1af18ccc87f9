-- A model version's R/F/M cut points alone: what scoring needs, readable by a BI login running `segflow api`.
select rfm_cut_points
from segflow.model_versions
where version = %(version)s
