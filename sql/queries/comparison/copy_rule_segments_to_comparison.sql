-- Rule segments ('inactive', 'unscored') do not depend on the model: a re-scored attempt keeps them.
insert into segflow.comparison_assignments (attempt_id, model_version, customer_id, segment_key)
select attempt_id, %(model_version)s, customer_id, segment_key
from segflow.segment_assignments
where attempt_id = %(attempt_id)s and segment_key = any(%(rule_keys)s)
