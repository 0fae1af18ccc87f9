-- The data-quality rule "exact duplicate lines count once", over the source table: a subquery
-- that the feature and data-quality queries filter by date and customer (PostgreSQL applies those
-- filters before removing duplicates). Ids become text, so a source with integer ids works too; the
-- sorting keys use the "C" collation (byte order), the fastest, so per-customer aggregations reuse the sort.
select distinct
    s.customer_id::text collate "C" as customer_id,
    s.invoice_id::text collate "C" as invoice_id,
    s.invoiced_at,
    s.stock_code,
    s.quantity,
    s.unit_price,
    s.description,
    s.country
from {source} as s
