-- The imported batch (if any) of a content, with the options it was read with.
select batch_id, layout, lines_read, options, source_name
from segflow.import_batches
where content_sha256 = %(sha256)s and status = 'imported'
