-- Loaded attributes replace each customer's previous attributes as a whole.
insert into segflow.customer_attributes as ca (customer_id, attributes, source_name)
select customer_id, attributes, %(source_name)s
from attribute_staging
on conflict (customer_id) do update
set attributes = excluded.attributes, source_name = excluded.source_name, loaded_at = now()
