select customers_known, customers_active
from segflow.run_attempts
where attempt_id = %(attempt_id)s
