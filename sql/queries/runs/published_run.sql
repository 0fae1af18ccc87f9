-- A published run (default: the one BI reads now) with the attempt it shows.
with pointer as (
    select a.run_id
    from segflow.current_run as c
    inner join segflow.run_attempts as a on a.attempt_id = c.attempt_id
),

final as (
    select r.run_id, r.as_of, r.attempt_id, r.model_version, r.customers_known, r.published_at
    from segflow.runs as r
    where r.status = 'published'
        and r.run_id = coalesce(%(run_id)s::bigint, (select run_id from pointer))
)

select * from final
