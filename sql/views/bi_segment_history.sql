-- segflow_bi.segment_history: one row per customer per published run (withdrawn runs left out): the segment,
-- the features it came from, the scores and the model.
create or replace view segflow_bi.segment_history as
with published as (
    select run_id, as_of, attempt_id, published_at
    from segflow.run_attempts
    where status = 'published'
),

pointer as (
    select attempt_id from segflow.current_run
),

final as (
    select
        p.run_id,
        p.as_of,
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
        p.attempt_id in (select attempt_id from pointer) as is_current,
        p.published_at
    from published as p
    inner join segflow.segment_assignments as a on a.attempt_id = p.attempt_id
    left join segflow.customer_features as f on f.attempt_id = a.attempt_id and f.customer_id = a.customer_id
)

select * from final;
