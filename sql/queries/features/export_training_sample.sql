-- A deterministic sample of a run's complete customers: the same seed and customers give the same
-- sample, whatever order the rows were written in.
copy (
    select customer_id, {columns}
    from segflow.customer_features
    where attempt_id = {attempt_id} and {complete}
    order by md5(customer_id || {seed}), customer_id
    limit {limit}
) to stdout with (format csv, header)
