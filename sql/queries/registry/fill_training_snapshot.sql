-- Fill a new model's training snapshot (customer and segment already copied in) with the features the
-- training attempt computed for those customers.
update segflow.model_training_snapshots as s
set
    recency_days = cf.recency_days,
    frequency = cf.frequency,
    monetary = cf.monetary,
    tenure_days = cf.tenure_days,
    avg_order_value = cf.avg_order_value
from segflow.customer_features as cf
where s.model_version = %(version)s
    and cf.attempt_id = %(attempt_id)s
    and cf.customer_id = s.customer_id
