-- Take a batch back: its lines and rejects go, the batch row stays as 'removed' for the record.
with marked as (
    update segflow.import_batches
    set status = 'removed', removed_at = now()
    where batch_id = %(batch_id)s and status = 'imported'
    returning batch_id
),

gone_rejects as (
    delete from segflow.import_rejects
    where batch_id in (select batch_id from marked)
),

gone_lines as (
    delete from segflow.transactions
    where batch_id in (select batch_id from marked)
    returning 1
)

select (select count(*) from marked), (select count(*) from gone_lines)
