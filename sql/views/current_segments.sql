-- The BI contract: one row per known customer of the current published run. Columns are only ever added at the end.
create or replace view segflow.current_segments as
with pointer as (
    select attempt_id from segflow.current_run
),

final as (
    select
        a.customer_id,
        a.segment_key,
        a.segment_name,
        a.action,
        a.model_version,
        r.run_id,
        r.as_of,
        f.recency_days,
        f.frequency,
        f.monetary,
        f.tenure_days,
        a.r_score,
        a.f_score,
        a.m_score,
        a.distance,
        a.confidence,
        -- the model's cluster (segment_key differs when its name did not fit the customer); null: a rule segment
        a.cluster_key
    from segflow.segment_assignments as a
    inner join pointer as p on p.attempt_id = a.attempt_id
    inner join segflow.run_attempts as r on r.attempt_id = a.attempt_id
    left join segflow.customer_features as f on f.attempt_id = a.attempt_id and f.customer_id = a.customer_id
)

select * from final;
