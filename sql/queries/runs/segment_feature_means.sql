-- Per segment of an attempt, the mean of each model feature over the segment's customers that have it
-- ({means}: one "avg(value) as name" per feature, see segflow.features.feature_value).
with assignments as (
    select customer_id, segment_key
    from segflow.segment_assignments
    where attempt_id = %(attempt_id)s
),

final as (
    select a.segment_key, {means}
    from assignments as a
    inner join segflow.customer_features as f on f.attempt_id = %(attempt_id)s and f.customer_id = a.customer_id
    group by a.segment_key
)

select * from final
order by segment_key
