-- Each touched customer's first line day and first purchase, recomputed from invoice_day_totals (every customer
-- when %(everything)s); a customer left with no line is removed.
with touched as (
    select distinct customer_id
    from folding_keys
    where customer_id is not null and sign <> 0
),

recomputed as (
    select t.customer_id, min(t.day) as first_line_day, min(t.first_purchase_at) as first_purchase_at
    from segflow.invoice_day_totals as t
    where t.customer_id is not null
        and (%(everything)s or t.customer_id in (select customer_id from touched))
    group by t.customer_id
),

gone as (
    delete from segflow.customer_firsts as f
    where f.customer_id in (select customer_id from touched)
        and f.customer_id not in (select customer_id from recomputed)
)

insert into segflow.customer_firsts (customer_id, first_line_day, first_purchase_at)
select customer_id, first_line_day, first_purchase_at
from recomputed
on conflict (customer_id) do update
set first_line_day = excluded.first_line_day, first_purchase_at = excluded.first_purchase_at
