-- Every part of a generated batch is written and folded: it becomes its content's imported batch.
update segflow.import_batches
set status = 'imported'
where batch_id = %(batch_id)s and status = 'importing'
