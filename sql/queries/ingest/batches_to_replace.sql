-- The imported batches a corrected import replaces: the same content, or the same file name.
select batch_id, source_name, lines_loaded
from segflow.import_batches
where status = 'imported'
    and source_kind = 'file'
    and (content_sha256 = %(sha256)s or source_name = %(name)s)
order by batch_id
