-- segflow_bi.segment_history: one row per customer per published run (withdrawn runs left out): the segment,
-- the features it came from, the scores and the model. The segment (key, name, action, model version, cluster) comes
-- from segflow.segment_ranges, a range showing in each published run whose as_of it covers, so it is exact for
-- every published run; the per-night columns (features, scores, distance, confidence) come from the run's own rows
-- while they are kept, else null.
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
        r.customer_id,
        r.segment_key,
        r.segment_name,
        r.action,
        r.model_version,
        r.cluster_key,
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
    inner join segflow.segment_ranges as r
        on r.valid_from <= p.as_of and (r.valid_to is null or r.valid_to > p.as_of)
    left join segflow.segment_assignments as a on a.attempt_id = p.attempt_id and a.customer_id = r.customer_id
    left join segflow.customer_features as f on f.attempt_id = p.attempt_id and f.customer_id = r.customer_id
)

select * from final;
