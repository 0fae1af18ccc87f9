-- The newest line the night saw in its source, and whether its freshness check was deliberately overridden.
update segflow.run_attempts
set source_newest_day = %(newest_day)s, stale_source_allowed = %(allowed)s
where attempt_id = %(attempt_id)s
