-- segflow_bi.model_segments: one row per model version and segment, as the model was trained (centroids and
-- profiles stay as JSON in segflow.model_segments).
create or replace view segflow_bi.model_segments as
with final as (
    select
        s.model_version,
        s.segment_key,
        s.name as segment_name,
        s.action,
        s.size as customers,
        s.share as customer_share,
        s.mean_r_score,
        s.mean_f_score,
        s.mean_m_score,
        s.renamed_from
    from segflow.model_segments as s
)

select * from final;
