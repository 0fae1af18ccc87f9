-- A uniform number in (0, 1) that depends only on (seed, key, stream): the set-based generator's randomness
-- (sql/queries/generate/insert_generated_lines.sql). `key` names the thing drawn for (a customer, an order, a
-- line), `stream` which of its draws this is, so the same spec always gives the same lines whatever the plan, and
-- two seeds give independent ones. hashint8extended is PostgreSQL's own 64-bit hash; its low 53 bits fill a
-- double exactly. Immutable and written in SQL so the planner inlines it.
create or replace function segflow.generator_uniform(seed bigint, key bigint, stream integer) returns double precision
language sql immutable strict parallel safe
as $$ select ((hashint8extended(key, seed * 256 + stream) & 9007199254740991)::double precision + 0.5)
             / 9007199254740992.0 $$;
