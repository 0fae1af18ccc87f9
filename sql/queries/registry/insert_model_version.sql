insert into segflow.model_versions (
    version, algorithm, params, k, features, log_features, as_of, train_window_start, train_window_end,
    sample_size, seed, rfm_cut_points, metrics, candidates, selection_rule, gates, library_versions,
    artifact_path, artifact_sha256, trained_in_attempt, training_segment_sizes
)
values (
    %(version)s, %(algorithm)s, %(params)s::jsonb, %(k)s, %(features)s, %(log_features)s, %(as_of)s,
    %(train_window_start)s, %(train_window_end)s, %(sample_size)s, %(seed)s, %(rfm_cut_points)s::jsonb,
    %(metrics)s::jsonb, %(candidates)s::jsonb, %(selection_rule)s, %(gates)s::jsonb, %(library_versions)s::jsonb,
    %(artifact_path)s, %(artifact_sha256)s, %(trained_in_attempt)s, %(training_segment_sizes)s::jsonb
)
