-- After a promotion, in the same transaction: the champion's keys are active (new ones recorded),
-- every other active key is retired.
with champion_segments as (
    select segment_key, name, action, model_version
    from segflow.model_segments
    where model_version = %(version)s
),

upserted as (
    insert into segflow.segment_keys as k (segment_key, name, action, first_version, last_version, status)
    select segment_key, name, action, model_version, model_version, 'active'
    from champion_segments
    on conflict (segment_key) do update
    set name = excluded.name, action = excluded.action, last_version = excluded.last_version,
        status = 'active', retired_at = null
    returning k.segment_key
)

update segflow.segment_keys
set status = 'retired', retired_at = now()
where status = 'active'
    and segment_key not in (select segment_key from champion_segments)
