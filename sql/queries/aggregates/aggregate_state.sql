-- The aggregates' state, locked for the fold: folds (a night's, an import's) and rebuilds run one at a time.
select source_table, needs_rebuild, rebuild_reason, watermark_day
from segflow.aggregate_state
for update
