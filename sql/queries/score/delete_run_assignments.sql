delete from segflow.segment_assignments
where attempt_id = %(attempt_id)s
