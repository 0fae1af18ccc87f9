-- Copy the customers' loaded attributes into a run's feature rows (a snapshot: later reloads do not
-- change what this run used).
-- {target} is the attempt's own table (segflow/storage/attempt_tables.py), attached after every partition ran.
update {target} as cf
set attributes = ca.attributes
from segflow.customer_attributes as ca
where cf.attempt_id = %(attempt_id)s and ca.customer_id = cf.customer_id
    and (%(partitions)s::integer = 1 or segflow.customer_partition(cf.customer_id, %(partitions)s::integer) = %(partition)s::integer)
