-- segflow_bi.model_versions: one row per trained model version, with plain columns (parameters, candidates and
-- gates stay as JSON in segflow.model_versions).
create or replace view segflow_bi.model_versions as
with final as (
    select
        m.version as model_version,
        m.status,
        m.algorithm,
        m.k,
        array_to_string(m.features, ', ') as features,
        m.as_of as trained_as_of,
        m.train_window_start,
        m.train_window_end,
        m.sample_size,
        m.seed,
        (m.metrics ->> 'silhouette')::double precision as silhouette,
        (m.metrics ->> 'davies_bouldin')::double precision as davies_bouldin,
        m.created_at,
        m.promoted_at
    from segflow.model_versions as m
)

select * from final;
