-- Step 3 of withdrawing: the champion this attempt promoted while it ran, if that promotion is still in effect
-- (a later promotion, by hand or by another run, is not undone); the champion it replaced (the version promoted
-- last before it: a version whose promotion was undone has no promoted_at); and the newest published run of
-- another date scored with it, which undoing the promotion would orphan.
with attempt as (
    select attempt_id, started_at, published_at
    from segflow.run_attempts
    where attempt_id = %(attempt_id)s
),

promoted as (
    select v.version, v.promoted_at
    from segflow.model_versions as v
    inner join attempt as a on v.trained_in_attempt = a.attempt_id
    where v.status = 'champion' and v.promoted_at between a.started_at and a.published_at
),

final as (
    select
        p.version,
        (
            select v.version
            from segflow.model_versions as v
            where v.promoted_at < p.promoted_at and v.version <> p.version
            order by v.promoted_at desc
            limit 1
        ) as previous_champion,
        (
            select r.as_of
            from segflow.run_attempts as r
            where r.status = 'published' and r.model_version = p.version and r.attempt_id <> %(attempt_id)s
            order by r.as_of desc
            limit 1
        ) as scored_by_as_of
    from promoted as p
)

select * from final
