-- Step 2 of withdrawing: the run of an as-of date (no row: no such run), its published attempt and whether BI
-- reads it, its neighbouring published runs, and else what became of its latest attempt.
with run_key as (
    select run_id
    from segflow.run_keys
    where as_of = %(as_of)s
),

attempts as (
    select a.attempt_id, a.status, a.withdrawn_at, a.withdrawn_reason
    from segflow.run_attempts as a
    inner join run_key as k on k.run_id = a.run_id
),

published as (
    select attempt_id
    from attempts
    where status = 'published'
),

latest as (
    select status, withdrawn_at, withdrawn_reason
    from attempts
    order by attempt_id desc
    limit 1
),

others as (
    select run_id, attempt_id, as_of
    from segflow.run_attempts
    where status = 'published' and as_of <> %(as_of)s
),

final as (
    select
        k.run_id,
        p.attempt_id,
        p.attempt_id is not null and p.attempt_id = (select attempt_id from segflow.current_run) as is_current,
        l.status as latest_status,
        l.withdrawn_at,
        l.withdrawn_reason,
        (select o.attempt_id from others as o where o.as_of < %(as_of)s order by o.as_of desc limit 1)
            as prev_attempt,
        (select o.as_of from others as o where o.as_of < %(as_of)s order by o.as_of desc limit 1) as prev_as_of,
        (select o.attempt_id from others as o where o.as_of > %(as_of)s order by o.as_of limit 1) as next_attempt,
        (select o.as_of from others as o where o.as_of > %(as_of)s order by o.as_of limit 1) as next_as_of
    from run_key as k
    left join published as p on true
    left join latest as l on true
)

select * from final
