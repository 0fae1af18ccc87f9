-- The customers to recompute when the rollups move from %(from_as_of)s to %(as_of)s (same lookback): those a fold
-- marked since (taken out of the stale list first, so a fold committing later stays marked for the next roll), and
-- those with an invoice-day leaving the window (from_as_of - lookback, as_of - lookback] or entering it
-- (from_as_of, as_of]. The dates are written out so the block-range index on day finds those days.
with taken as (
    delete from segflow.customer_window_rollup_stale
    returning customer_id
),

leaving as (
    select t.customer_id
    from segflow.invoice_day_totals as t
    where t.customer_id is not null
        and t.day > %(from_as_of)s::date - %(lookback_days)s::integer
        and t.day <= %(as_of)s::date - %(lookback_days)s::integer
),

entering as (
    select t.customer_id
    from segflow.invoice_day_totals as t
    where t.customer_id is not null
        and t.day > %(from_as_of)s::date
        and t.day <= %(as_of)s::date
),

final as (
    select customer_id from taken
    union
    select customer_id from leaving
    union
    select customer_id from entering
)

insert into rolling_customers (customer_id)
select customer_id from final
