-- segflow_bi.current_segments: one row per known customer of the run BI reads now, with the same columns as
-- segflow_bi.segment_history: the ranges covering that run's as_of (the open ranges when it is the latest run; an
-- earlier one after a withdrawal), with its per-night columns from its own rows.
create or replace view segflow_bi.current_segments as
with current_run as (
    select r.run_id, r.as_of, r.attempt_id, r.published_at
    from segflow.run_attempts as r
    inner join segflow.current_run as p on p.attempt_id = r.attempt_id
),

final as (
    select
        r.run_id,
        r.as_of,
        g.customer_id,
        g.segment_key,
        g.segment_name,
        g.action,
        g.model_version,
        g.cluster_key,
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
    inner join segflow.segment_ranges as g
        on g.valid_from <= r.as_of and (g.valid_to is null or g.valid_to > r.as_of)
    left join segflow.segment_assignments as a on a.attempt_id = r.attempt_id and a.customer_id = g.customer_id
    left join segflow.customer_features as f on f.attempt_id = r.attempt_id and f.customer_id = g.customer_id
)

select * from final;
