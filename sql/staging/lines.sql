-- Every line of the source table with segflow's business rules, written once (dbt's staging layer): every
-- query that needs to know what a line is reads it from here, through segflow.features.source_parts.
--   unknown customer: no customer id
--   return:           a cancellation (invoice 'C…') or a quantity of zero or less
--   purchase:         a known customer, not a return, a positive price
--   returned amount:  what a return gives back, |quantity| * price (none without a positive price)
--   day:              the line's UTC day (what windows and the aggregates of sql/queries/aggregates count by)
-- Ids become text, so a source with integer ids works too; the sorting keys use the "C" collation (byte
-- order), the fastest, so per-customer aggregations reuse the sort. The source is the quoted source table.
-- A line without a time cannot be dated into any window or day: a source of the user's own that has some
-- leaves them out (segflow.transactions requires a time).
select
    s.customer_id::text collate "C" as customer_id,
    s.invoice_id::text collate "C" as invoice_id,
    s.invoiced_at,
    (s.invoiced_at at time zone 'UTC')::date as day,
    s.stock_code,
    s.quantity,
    s.unit_price,
    s.description,
    s.country,
    s.customer_id is null as is_unknown_customer,
    (s.invoice_id::text like 'C%%' or s.quantity <= 0) as is_return,
    (s.customer_id is not null and not (s.invoice_id::text like 'C%%' or s.quantity <= 0) and s.unit_price > 0)
        as is_purchase,
    case
        when (s.invoice_id::text like 'C%%' or s.quantity <= 0) and s.unit_price > 0
            then abs(s.quantity * s.unit_price)
        else 0
    end as returned_amount
from {source} as s
where s.invoiced_at is not null
