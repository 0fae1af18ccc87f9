-- The drift reports of a run (default: the run BI reads now).
select d.run_id, r.as_of, d.reference, d.reference_run, d.reference_model_version, d.dataset_drift,
    d.drift_share, d.segment_psi, d.segment_js, d.html_path, d.details, d.compared_under_model
from segflow.drift_reports as d
inner join segflow.run_keys as r on r.run_id = d.run_id
where d.run_id = coalesce(
    %(run_id)s,
    (select a.run_id from segflow.current_run as c inner join segflow.run_attempts as a using (attempt_id))
)
order by d.reference
