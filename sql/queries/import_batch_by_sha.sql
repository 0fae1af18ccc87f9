select batch_id, layout, lines_read
from segflow.import_batches
where content_sha256 = %(sha256)s
