-- The attempt's table becomes its partition: its CHECK constraint spares the scan.
alter table {parent} attach partition {table} for values from (%(attempt_id)s) to (%(next_attempt)s)
