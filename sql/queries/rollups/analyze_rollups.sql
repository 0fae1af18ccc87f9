-- Fresh statistics after building the rollups: the night's feature query joins them to every known customer.
analyze segflow.customer_window_rollups
