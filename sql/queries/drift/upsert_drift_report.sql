insert into segflow.drift_reports (
    run_id, reference, attempt_id, reference_run, reference_model_version, dataset_drift, drift_share,
    segment_psi, segment_js, html_path, details, compared_under_model
)
values (
    %(run_id)s, %(reference)s, %(attempt_id)s, %(reference_run)s, %(reference_model_version)s,
    %(dataset_drift)s, %(drift_share)s, %(segment_psi)s, %(segment_js)s, %(html_path)s, %(details)s::jsonb,
    %(compared_under_model)s
)
on conflict (run_id, reference) do update
set attempt_id = excluded.attempt_id, reference_run = excluded.reference_run,
    reference_model_version = excluded.reference_model_version, dataset_drift = excluded.dataset_drift,
    drift_share = excluded.drift_share, segment_psi = excluded.segment_psi, segment_js = excluded.segment_js,
    html_path = excluded.html_path, details = excluded.details,
    compared_under_model = excluded.compared_under_model, created_at = now()
