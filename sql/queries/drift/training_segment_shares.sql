-- Segment shares of a model's training sample: as the names' rules named its customers (segflow.segments), else,
-- for a model from before they were recorded, its clusters' sizes.
with named as (
    select s.key as segment_key, s.value::bigint as customers
    from segflow.model_versions as v
    cross join lateral jsonb_each_text(v.training_segment_sizes) as s
    where v.version = %(version)s
),

clusters as (
    select segment_key, size::bigint as customers
    from segflow.model_segments
    where model_version = %(version)s and not exists (select from named)
),

final as (
    select segment_key, customers from named
    union all
    select segment_key, customers from clusters
)

select segment_key, customers, customers::double precision / sum(customers) over () as share
from final
order by segment_key
