-- The customers one roll recomputes.
create temp table if not exists rolling_customers (
    customer_id text primary key
) on commit drop
