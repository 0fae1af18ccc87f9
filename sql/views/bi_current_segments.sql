-- segflow_bi.current_segments: one row per known customer of the run BI reads now, with the same columns as
-- segflow_bi.segment_history (read through the pointer, not by filtering every run's rows).
create or replace view segflow_bi.current_segments as
with pointer as (
    select attempt_id from segflow.current_run
),

current_run as (
    select r.run_id, r.as_of, r.attempt_id, r.published_at
    from segflow.run_attempts as r
    inner join pointer as p on p.attempt_id = r.attempt_id
),

final as (
    select
        r.run_id,
        r.as_of,
        a.customer_id,
        a.segment_key,
        a.segment_name,
        a.action,
        a.model_version,
        a.cluster_key,
        f.recency_days,
        f.frequency,
        f.monetary,
        f.avg_order_value,
        f.tenure_days,
        f.return_rate,
        a.r_score,
        a.f_score,
        a.m_score,
        a.distance,
        a.confidence,
        true as is_current,
        r.published_at
    from current_run as r
    inner join segflow.segment_assignments as a on a.attempt_id = r.attempt_id
    left join segflow.customer_features as f on f.attempt_id = a.attempt_id and f.customer_id = a.customer_id
)

select * from final;
