-- Attempts whose per-customer rows retention keeps: the one BI reads, the published attempts of the %(kept)s newest
-- runs by as-of date, and every attempt not finished. %(kept)s = 0 keeps every published and withdrawn attempt
-- (withdrawing keeps a run's rows as history); replaced, failed and abandoned attempts' rows never stay.
with pointer as (
    select attempt_id from segflow.current_run
),

newest as (
    select attempt_id
    from segflow.run_attempts
    where status = 'published'
    order by as_of desc
    limit %(kept)s
),

everything as (
    select attempt_id
    from segflow.run_attempts
    where %(kept)s::integer = 0 and status in ('published', 'withdrawn')
),

unfinished as (
    select attempt_id from segflow.run_attempts where status = 'running'
),

final as (
    select attempt_id from pointer
    union
    select attempt_id from newest
    union
    select attempt_id from everything
    union
    select attempt_id from unfinished
)

select attempt_id from final order by attempt_id
