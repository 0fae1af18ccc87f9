-- The names of segment keys for a drift page: from the model versions it compares (the newest model's name
-- first), else from the key's record (segflow.segment_keys).
with model_names as (
    select segment_key, name, model_version as rank
    from segflow.model_segments
    where model_version = any(%(versions)s::integer [])
),

key_names as (
    select segment_key, name, -1 as rank
    from segflow.segment_keys
),

final as (
    select distinct on (segment_key) segment_key, name
    from (select * from model_names union all select * from key_names) as names
    order by segment_key, rank desc
)

select segment_key, name from final
