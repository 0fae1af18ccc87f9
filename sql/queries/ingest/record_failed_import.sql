-- An import that loaded nothing, for the record: its counts and why, no lines.
insert into segflow.import_batches (
    source_kind, source_name, content_sha256, layout, options, status, error, lines_read, lines_loaded,
    lines_rejected, rejected_by_reason, finished_at
)
values (
    'file', %(name)s, %(sha256)s, %(layout)s, %(options)s::jsonb, 'failed', %(error)s, %(lines_read)s, 0,
    %(lines_rejected)s, %(rejected_by_reason)s::jsonb, now()
)
returning batch_id
