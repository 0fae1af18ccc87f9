-- The lines of segflow.transactions under the keys being folded: a subquery that stands for the source table in
-- sql/staging. Known customers are found through the (customer_id, invoiced_at) index, lines without a
-- customer through the (invoice_id, invoiced_at) partial index; each key's day is a half-open UTC range.
select t.*
from segflow.transactions as t
inner join folding_keys as k
    on t.customer_id = k.customer_id
    and t.invoice_id = k.invoice_id
    and t.invoiced_at >= (k.day::timestamp at time zone 'UTC')
    and t.invoiced_at < ((k.day + 1)::timestamp at time zone 'UTC')
where k.customer_id is not null and k.sign = 0

union all

select t.*
from segflow.transactions as t
inner join folding_keys as k
    on t.invoice_id = k.invoice_id
    and t.invoiced_at >= (k.day::timestamp at time zone 'UTC')
    and t.invoiced_at < ((k.day + 1)::timestamp at time zone 'UTC')
where t.customer_id is null and k.customer_id is null and k.sign = 0
