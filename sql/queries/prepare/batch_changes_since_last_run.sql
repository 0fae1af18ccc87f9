-- Batches imported or removed since the last published run started (all of them before the first run).
with last_run as (
    select max(started_at) as started_at
    from segflow.run_attempts
    where status = 'published' and attempt_id <> %(attempt_id)s
)

select b.batch_id, b.source_name, b.lines_loaded,
    case when b.removed_at is not null then 'removed' else 'imported' end as change
from segflow.import_batches as b, last_run as l
where (b.status = 'imported' and (l.started_at is null or b.finished_at > l.started_at))
    or (b.status = 'removed' and (l.started_at is null or b.removed_at > l.started_at))
order by b.batch_id
