-- A deterministic sample of an attempt's clustered customers with their segment and the model's features
-- ({features}: one "value as name" per feature, see segflow.features.feature_value), for the map of a model
-- that clusters on customer attributes.
with assignments as (
    select customer_id, segment_key
    from segflow.segment_assignments
    where attempt_id = %(attempt_id)s and segment_key not in ('inactive', 'unscored')
),

final as (
    select a.customer_id, a.segment_key, {features}
    from assignments as a
    inner join segflow.customer_features as f on f.attempt_id = %(attempt_id)s and f.customer_id = a.customer_id
)

select * from final
order by md5(customer_id || %(seed)s), customer_id
limit %(limit)s
