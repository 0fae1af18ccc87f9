-- Whether no session holds the attempt's lock (taken for this transaction only, so it is released at commit).
select pg_try_advisory_xact_lock(%(lock_class)s, %(attempt_id)s::integer)
