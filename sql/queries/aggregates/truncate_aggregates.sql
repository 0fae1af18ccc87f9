-- A full rebuild starts from nothing.
truncate segflow.invoice_day_totals, segflow.customer_firsts, segflow.daily_line_totals
