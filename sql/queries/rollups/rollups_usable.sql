-- Whether the rollups describe this as-of date and lookback with nothing marked stale since: then the feature query
-- may read them instead of the window. Reading the state holds it, so a rebuild that discards the rollups waits
-- for this transaction (and one that came first leaves no state: the window is read).
select
    exists (
        select
        from segflow.customer_window_rollup_state as s
        where s.as_of = %(as_of)s::date and s.lookback_days = %(lookback_days)s::integer
    )
    and not exists (select from segflow.customer_window_rollup_stale) as usable
