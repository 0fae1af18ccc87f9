-- Take back what unfinished generations wrote: the given batch (a part failed), or every 'importing' batch of a
-- content (a generation that died before it finished). Their lines go; the batches stay as 'failed', with why.
with failed as (
    update segflow.import_batches
    set status = 'failed', error = %(error)s, finished_at = now()
    where status = 'importing' and (batch_id = %(batch_id)s or content_sha256 = %(sha256)s)
    returning batch_id
),

gone_lines as (
    delete from segflow.transactions
    where batch_id in (select batch_id from failed)
    returning 1
)

select (select count(*) from failed), (select count(*) from gone_lines)
