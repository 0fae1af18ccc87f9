-- A BI view's description (segflow/bi_catalog.py); {view} is a quoted identifier, the text a bound value.
comment on view {view} is %(description)s
