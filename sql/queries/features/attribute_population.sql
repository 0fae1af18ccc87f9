-- With attribute features only, the population is every customer that has attributes (of one partition).
-- {target} is the attempt's own table (segflow/storage/attempt_tables.py), attached after every partition ran.
insert into {target} (attempt_id, customer_id, attributes)
select %(attempt_id)s, customer_id, attributes
from segflow.customer_attributes
where (%(partitions)s::integer = 1 or segflow.customer_partition(customer_id, %(partitions)s::integer) = %(partition)s::integer)
