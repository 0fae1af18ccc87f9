-- The attempt table's primary key, built once over all its rows (the parent's key: the attach adopts it).
alter table {table} add primary key (attempt_id, customer_id)
