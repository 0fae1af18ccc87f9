-- Fresh statistics after a large fold: the night's feature query is planned on them.
analyze segflow.invoice_day_totals, segflow.customer_firsts, segflow.daily_line_totals
