-- An attempt's own table for one kind of per-customer rows: the parent's columns, no index (rows arrive by COPY and
-- INSERT from every customer partition; the primary key is built once, before the attach), and the CHECK that lets
-- the attach trust the attempt id without scanning the rows.
create table if not exists {table} (
    like {parent} including defaults,
    constraint {check_name} check (attempt_id >= %(attempt_id)s and attempt_id < %(next_attempt)s)
)
