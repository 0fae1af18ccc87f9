-- Feature rows of a run's complete customers (every model feature present), in customer order.
-- {columns} are composed from an allow-list in segflow.features; {attempt_id} is a literal; {in_partition}
-- keeps one customer partition's rows (or is true).
copy (
    select customer_id, {columns}
    from segflow.customer_features
    where attempt_id = {attempt_id} and {complete} and {in_partition}
    order by customer_id
) to stdout with (format csv, header)
