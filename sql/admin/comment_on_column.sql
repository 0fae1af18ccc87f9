-- A BI column's description (segflow/bi_catalog.py); {column} is a quoted schema.view.column, the text a bound value.
comment on column {column} is %(description)s
