-- An attempt's own table, attached or not.
drop table if exists {table}
