-- A run's assignments of one customer partition (all of them when %(partitions)s is 1), before they are
-- scored again: rerunning a partition, or scoring with a newly trained model, replaces its rows.
-- {target} is the attempt's own table (segflow/storage/attempt_tables.py), attached after every partition ran.
delete from {target}
where attempt_id = %(attempt_id)s
    and (%(partitions)s::integer = 1 or segflow.customer_partition(customer_id, %(partitions)s::integer) = %(partition)s::integer)
