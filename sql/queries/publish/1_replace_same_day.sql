-- Step 1 of publishing: the run's previously published attempt (if any) is replaced and its rows go (those in the
-- before-016 partitions here; an attempt's own tables are dropped by retention after the publish, so this
-- transaction never takes the lock a DROP needs on the tables BI reads); other runs are untouched.
with replaced as (
    update segflow.run_attempts
    set status = 'replaced'
    where run_id = (select run_id from segflow.run_attempts where attempt_id = %(attempt_id)s)
        and status = 'published'
        and attempt_id <> %(attempt_id)s
    returning attempt_id
),

gone_assignments as (
    delete from segflow.segment_assignments
    where attempt_id in (select attempt_id from replaced)
        and attempt_id < (select first_own_attempt from segflow.per_attempt_tables)
),

gone_features as (
    delete from segflow.customer_features
    where attempt_id in (select attempt_id from replaced)
        and attempt_id < (select first_own_attempt from segflow.per_attempt_tables)
),

gone_comparisons as (
    delete from segflow.comparison_assignments
    where attempt_id in (select attempt_id from replaced)
)

select attempt_id from replaced
