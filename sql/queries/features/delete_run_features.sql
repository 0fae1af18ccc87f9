-- A run's feature rows of one customer partition (all of them when %(partitions)s is 1), before they are
-- computed again: rerunning a partition replaces its rows.
delete from segflow.customer_features
where attempt_id = %(attempt_id)s
    and (%(partitions)s::integer = 1 or segflow.customer_partition(customer_id, %(partitions)s::integer) = %(partition)s::integer)
