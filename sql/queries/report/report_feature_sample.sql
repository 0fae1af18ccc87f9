-- The first %(limit)s clustered customers of an attempt's stored sample (segflow.run_samples, in hash order) with
-- their segment and the model's features ({features}: one "value as name" per feature, see
-- segflow.features.feature_value: the sample has customer_features' columns), for the map of a model that clusters
-- on customer attributes.
with final as (
    select customer_id, segment_key, sample_hash, {features}
    from segflow.run_samples
    where attempt_id = %(attempt_id)s and segment_key not in ('inactive', 'unscored')
)

select * from final
order by sample_hash, customer_id
limit %(limit)s
