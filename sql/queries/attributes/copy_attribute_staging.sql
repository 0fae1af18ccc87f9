copy attribute_staging (customer_id, attributes) from stdin
