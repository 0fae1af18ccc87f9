-- A new attempt at the run of an as-of date (the run itself is created on its first attempt).
with run_key as (
    insert into segflow.run_keys (as_of)
    values (%(as_of)s)
    on conflict (as_of) do update set as_of = excluded.as_of
    returning run_id
)

insert into segflow.run_attempts (
    run_id, as_of, retrain_mode, features, lookback_days, window_start, source_table
)
select run_id, %(as_of)s, %(retrain_mode)s, %(features)s, %(lookback_days)s,
    %(as_of)s::date + 1 - %(lookback_days)s::integer, %(source_table)s
from run_key
returning attempt_id, run_id
