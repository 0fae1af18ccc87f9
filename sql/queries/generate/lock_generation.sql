-- One generation of a content at a time: held by the coordinating session until it ends (or dies).
select pg_advisory_lock(hashtextextended(%(sha256)s, 0))
