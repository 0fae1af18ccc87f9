delete from segflow.drift_reports
where run_id = %(run_id)s and reference = %(reference)s
