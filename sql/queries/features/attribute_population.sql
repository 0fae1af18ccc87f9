-- With attribute features only, the population is every customer that has attributes.
insert into segflow.customer_features (attempt_id, customer_id, attributes)
select %(attempt_id)s, customer_id, attributes
from segflow.customer_attributes
