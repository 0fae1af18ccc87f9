-- One customer's row in the run BI reads now.
select
    customer_id, segment_key, segment_name, action, model_version, run_id, as_of, recency_days, frequency,
    monetary, tenure_days, r_score, f_score, m_score, distance, confidence
from segflow_bi.current_segments
where customer_id = %(customer_id)s
