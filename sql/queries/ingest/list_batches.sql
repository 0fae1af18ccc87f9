-- Every import, newest first: what it read, with which options, what came of it.
select batch_id, source_kind as kind, source_name as name, status, layout, options, lines_read, lines_loaded, lines_rejected,
    rejected_by_reason, started_at, finished_at, removed_at, error
from segflow.import_batches
order by batch_id desc
