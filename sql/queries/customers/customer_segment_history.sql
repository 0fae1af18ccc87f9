-- One customer's segment in every published run, oldest first.
select run_id, as_of, segment_key, segment_name, model_version, recency_days, frequency, monetary, is_current
from segflow_bi.segment_history
where customer_id = %(customer_id)s
order by as_of
