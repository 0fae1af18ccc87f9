update segflow.import_batches
set lines_read = %(lines_read)s,
    lines_loaded = %(lines_loaded)s,
    lines_rejected = %(lines_rejected)s,
    rejected_by_reason = %(rejected_by_reason)s::jsonb,
    finished_at = now()
where batch_id = %(batch_id)s
