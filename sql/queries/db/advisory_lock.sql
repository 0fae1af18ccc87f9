-- Serialise writers that must not interleave (migrations, publishing); released at commit.
select pg_advisory_xact_lock(%(key)s)
