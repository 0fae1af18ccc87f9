-- A run that did not finish: marked failed (or abandoned, when its process died), its partial rows
-- removed (those in the before-016 partitions here; the caller drops the attempt's own tables in the same
-- transaction: segflow/storage/attempt_tables.py); published runs are untouched.
with marked as (
    update segflow.run_attempts
    set status = %(status)s, finished_at = now(), error = %(error)s
    where attempt_id = %(attempt_id)s and status = 'running'
    returning attempt_id
),

gone_assignments as (
    delete from segflow.segment_assignments
    where attempt_id in (select attempt_id from marked)
        and attempt_id < (select first_own_attempt from segflow.per_attempt_tables)
),

gone_comparisons as (
    delete from segflow.comparison_assignments
    where attempt_id in (select attempt_id from marked)
),

gone_features as (
    delete from segflow.customer_features
    where attempt_id in (select attempt_id from marked)
        and attempt_id < (select first_own_attempt from segflow.per_attempt_tables)
)

select attempt_id from marked
