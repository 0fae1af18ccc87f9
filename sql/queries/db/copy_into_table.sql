-- {table} and {columns} are composed as quoted identifiers from segflow's own table definitions.
copy {table} ({columns}) from stdin
