-- Customers the model did not score: no purchase in the lookback window ('inactive'), or a missing
-- model feature ('unscored'), of one customer partition. They still appear, so BI sees every known customer.
-- {target} is the attempt's own table (segflow/storage/attempt_tables.py), attached after every partition ran.
insert into {target} (attempt_id, customer_id, segment_key, segment_name, action, model_version)
select
    cf.attempt_id,
    cf.customer_id,
    case when %(uses_transactions)s and cf.frequency is null then %(inactive_key)s else %(unscored_key)s end,
    case when %(uses_transactions)s and cf.frequency is null then %(inactive_name)s else %(unscored_name)s end,
    case when %(uses_transactions)s and cf.frequency is null then %(inactive_action)s else %(unscored_action)s end,
    %(model_version)s
from segflow.customer_features as cf
where cf.attempt_id = %(attempt_id)s
    -- {complete} is the same feature-completeness test the export for scoring used, composed in
    -- segflow.features: exactly the rows the model did not see.
    and not ({complete})
    and (%(partitions)s::integer = 1 or segflow.customer_partition(cf.customer_id, %(partitions)s::integer) = %(partition)s::integer)
