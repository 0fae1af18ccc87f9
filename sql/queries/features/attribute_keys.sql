-- Attribute names loaded with `segflow load-customers`, and how many customers have each.
select key, count(*) as customers
from segflow.customer_attributes, jsonb_object_keys(attributes) as key
group by key
order by key
