-- The BI contract: one row per known customer of the current published run. Columns are only ever added at the end.
-- The segment from segflow.segment_ranges covering the run's as_of; the per-night columns from the run's own rows.
create or replace view segflow.current_segments as
with current_run as (
    select r.run_id, r.as_of, r.attempt_id
    from segflow.run_attempts as r
    inner join segflow.current_run as p on p.attempt_id = r.attempt_id
),

final as (
    select
        g.customer_id,
        g.segment_key,
        g.segment_name,
        g.action,
        g.model_version,
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
        g.cluster_key
    from current_run as r
    inner join segflow.segment_ranges as g
        on g.valid_from <= r.as_of and (g.valid_to is null or g.valid_to > r.as_of)
    left join segflow.segment_assignments as a on a.attempt_id = r.attempt_id and a.customer_id = g.customer_id
    left join segflow.customer_features as f on f.attempt_id = r.attempt_id and f.customer_id = g.customer_id
)

select * from final;
