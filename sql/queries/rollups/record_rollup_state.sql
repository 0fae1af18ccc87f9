-- The rollups now describe this window.
insert into segflow.customer_window_rollup_state (as_of, lookback_days, rolled_at)
values (%(as_of)s, %(lookback_days)s, now())
on conflict (only_row) do update
set as_of = excluded.as_of, lookback_days = excluded.lookback_days, rolled_at = excluded.rolled_at
