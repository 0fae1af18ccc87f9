-- For a published attempt: its run, and the published runs just before and after it by as-of date.
with published as (
    select attempt_id, run_id, as_of
    from segflow.run_attempts
    where status = 'published'
),

this as (
    select attempt_id, run_id, as_of
    from published
    where attempt_id = %(attempt_id)s
),

final as (
    select
        t.run_id,
        (select p.run_id from published as p where p.as_of < t.as_of order by p.as_of desc limit 1) as prev_run,
        (select p.attempt_id from published as p where p.as_of < t.as_of order by p.as_of desc limit 1)
            as prev_attempt,
        (select p.run_id from published as p where p.as_of > t.as_of order by p.as_of limit 1) as next_run,
        (select p.attempt_id from published as p where p.as_of > t.as_of order by p.as_of limit 1) as next_attempt
    from this as t
)

select * from final
