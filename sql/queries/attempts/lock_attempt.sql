-- Held by the attempt's own session for as long as it lives: when its process dies, PostgreSQL drops
-- the session and the lock with it, which is how a later run tells a live attempt from an abandoned one.
select pg_advisory_lock(%(lock_class)s, %(attempt_id)s::integer)
