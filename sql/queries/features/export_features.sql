-- Feature rows of a run's complete customers (every model feature present), in customer order.
-- {columns} are composed from an allow-list in segflow.features; {attempt_id} is a literal.
copy (
    select customer_id, {columns}
    from segflow.customer_features
    where attempt_id = {attempt_id} and {complete}
    order by customer_id
) to stdout with (format csv, header)
