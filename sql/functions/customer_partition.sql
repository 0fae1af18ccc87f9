-- Which of `partitions` customer partitions a customer belongs to: equal ranges of hashtext(customer_id) over
-- its whole int4 range, numbered 0..partitions-1. Ranges of the same hash are how Citus splits a table
-- distributed by customer_id into shards, so with Citus each partition maps to whole shards (docs/scaling.md).
-- Immutable and written in SQL so the planner inlines it into the queries that filter on it.
create or replace function segflow.customer_partition(customer_id text, partitions integer) returns integer
language sql immutable strict parallel safe
as $$ select (((hashtext(customer_id)::bigint + 2147483648) * partitions) >> 32)::integer $$;
