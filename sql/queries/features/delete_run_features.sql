delete from segflow.customer_features
where attempt_id = %(attempt_id)s
