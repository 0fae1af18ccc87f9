-- One model version with its segments, as JSON (for `segflow models show`).
with model as (
    select *
    from segflow.model_versions
    where version = %(version)s
),

segments as (
    select
        model_version,
        jsonb_agg(
            jsonb_build_object(
                'key', segment_key, 'name', name, 'action', action, 'size', size, 'share', share,
                'centroid', centroid, 'mean_r_score', mean_r_score, 'mean_f_score', mean_f_score,
                'mean_m_score', mean_m_score, 'renamed_from', renamed_from
            ) order by segment_key
        ) as segments
    from segflow.model_segments
    where model_version = %(version)s
    group by model_version
),

final as (
    select jsonb_build_object(
        'version', m.version, 'status', m.status, 'created_at', m.created_at, 'algorithm', m.algorithm,
        'params', m.params, 'k', m.k, 'features', m.features, 'log_features', m.log_features,
        'as_of', m.as_of, 'train_window_start', m.train_window_start, 'train_window_end', m.train_window_end,
        'sample_size', m.sample_size, 'seed', m.seed, 'rfm_cut_points', m.rfm_cut_points,
        'metrics', m.metrics, 'selection_rule', m.selection_rule, 'gates', m.gates, 'candidates', m.candidates,
        'library_versions', m.library_versions, 'artifact_path', m.artifact_path,
        'artifact_sha256', m.artifact_sha256, 'trained_in_attempt', m.trained_in_attempt, 'challenge', m.challenge,
        'segments', coalesce(s.segments, '[]'::jsonb)
    ) as details
    from model as m
    left join segments as s on s.model_version = m.version
)

select details from final
