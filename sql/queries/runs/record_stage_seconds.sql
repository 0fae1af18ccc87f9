update segflow.run_attempts
set stage_seconds = stage_seconds || jsonb_build_object(%(stage)s::text, round(%(seconds)s::numeric, 3))
where attempt_id = %(attempt_id)s
