-- Quintile cut points (20th, 40th, 60th, 80th percentiles) of recency, frequency and monetary over a run's active customers.
with active as (
    select recency_days, frequency, monetary
    from segflow.customer_features
    where attempt_id = %(attempt_id)s and frequency is not null
),

final as (
    select
        percentile_cont(array[0.2, 0.4, 0.6, 0.8]) within group (order by recency_days) as recency,
        percentile_cont(array[0.2, 0.4, 0.6, 0.8]) within group (order by frequency) as frequency,
        percentile_cont(array[0.2, 0.4, 0.6, 0.8]) within group (order by monetary) as monetary
    from active
)

select * from final
