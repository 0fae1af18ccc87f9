-- Lines of a batch that repeat another line of the batch exactly (what the duplicate rule counts once).
select count(*) - count(distinct (customer_id, invoice_id, invoiced_at, stock_code, quantity, unit_price,
    description, country))
from segflow.transactions
where batch_id = %(batch_id)s
