-- The rollups of the window of %(lookback_days)s days ending %(as_of)s: every customer with an invoice-day in it
-- (%(everything)s), or only the rolling customers. The same per-invoice rules as
-- queries/features/compute_rfm_features.sql (an invoice whose lines span days counts once), which the feature
-- query from the rollups must equal exactly.
insert into segflow.customer_window_rollups (customer_id, last_purchase_at, frequency, monetary, returned)

with window_totals as (
    -- Two branches, one of them switched off by %(everything)s (a constant, so the planner drops it): the whole
    -- window by its days, or the rolling customers' rows by the customer index. The dates are written out so the
    -- indexes can use them.
    select t.customer_id, t.invoice_id, t.purchase_lines, t.purchase_amount, t.last_purchase_at, t.returned_amount
    from segflow.invoice_day_totals as t
    where %(everything)s
        and t.customer_id is not null
        and t.day >= %(as_of)s::date + 1 - %(lookback_days)s::integer
        and t.day <= %(as_of)s::date
    union all
    select t.customer_id, t.invoice_id, t.purchase_lines, t.purchase_amount, t.last_purchase_at, t.returned_amount
    from rolling_customers as c
    inner join segflow.invoice_day_totals as t on t.customer_id = c.customer_id
    where not %(everything)s
        and t.day >= %(as_of)s::date + 1 - %(lookback_days)s::integer
        and t.day <= %(as_of)s::date
),

per_invoice as (
    select
        customer_id,
        invoice_id,
        bool_or(purchase_lines > 0) as purchased,
        max(last_purchase_at) as last_at,
        sum(purchase_amount) as purchase_amount,
        sum(returned_amount) as returned_amount
    from window_totals
    group by customer_id, invoice_id
),

final as (
    select
        customer_id,
        max(last_at) as last_purchase_at,
        count(*) filter (where purchased) as frequency,
        sum(purchase_amount) filter (where purchased) as monetary,
        sum(returned_amount) as returned
    from per_invoice
    group by customer_id
)

select customer_id, last_purchase_at, frequency, monetary, returned
from final
