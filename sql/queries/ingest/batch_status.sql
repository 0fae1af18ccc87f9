select status, source_name
from segflow.import_batches
where batch_id = %(batch_id)s
