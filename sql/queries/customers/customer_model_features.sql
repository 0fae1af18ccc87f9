-- The features the current run's model clusters on, and one customer's feature row in that run: their snapshot of
-- the loaded attributes, and their other columns (RFM) as JSON (no row when the customer is not in the run).
with pointer as (
    select c.attempt_id, r.model_version
    from segflow.current_run as c
    inner join segflow.run_attempts as r on r.attempt_id = c.attempt_id
),

final as (
    select
        m.features,
        coalesce(f.attributes, '{}'::jsonb) as attributes,
        to_jsonb(f) - 'attributes' - 'attempt_id' - 'customer_id' as columns
    from pointer as p
    inner join segflow.model_versions as m on m.version = p.model_version
    inner join segflow.customer_features as f on f.attempt_id = p.attempt_id and f.customer_id = %(customer_id)s
)

select * from final
