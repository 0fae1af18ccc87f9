-- The rule "exact duplicate lines count once", over the staged lines (staging/lines): one row per distinct line
-- with the number of its copies, a subquery that the feature, data-quality and aggregate queries filter by date
-- and customer (PostgreSQL applies those filters before grouping).
select
    l.customer_id,
    l.invoice_id,
    l.invoiced_at,
    l.day,
    l.stock_code,
    l.quantity,
    l.unit_price,
    l.description,
    l.country,
    l.is_unknown_customer,
    l.is_return,
    l.is_purchase,
    l.returned_amount,
    count(*) as copies
from ({lines}) as l
group by
    l.customer_id,
    l.invoice_id,
    l.invoiced_at,
    l.day,
    l.stock_code,
    l.quantity,
    l.unit_price,
    l.description,
    l.country,
    l.is_unknown_customer,
    l.is_return,
    l.is_purchase,
    l.returned_amount
