-- The rule "exact duplicate lines count once", over the staged lines (staging/lines): a subquery that the feature
-- and data-quality queries filter by date and customer (PostgreSQL applies those filters before removing
-- duplicates).
select distinct
    l.customer_id,
    l.invoice_id,
    l.invoiced_at,
    l.stock_code,
    l.quantity,
    l.unit_price,
    l.description,
    l.country,
    l.is_unknown_customer,
    l.is_return,
    l.is_purchase,
    l.returned_amount
from ({lines}) as l
