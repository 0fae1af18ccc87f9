insert into segflow.model_segments (
    model_version, segment_key, name, action, size, share, centroid, profile,
    mean_r_score, mean_f_score, mean_m_score, renamed_from
)
values (
    %(model_version)s, %(segment_key)s, %(name)s, %(action)s, %(size)s, %(share)s, %(centroid)s::jsonb,
    %(profile)s::jsonb, %(mean_r_score)s, %(mean_f_score)s, %(mean_m_score)s, %(renamed_from)s
)
