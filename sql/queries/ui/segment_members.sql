-- Customers of one segment in the run BI reads now, with their features (at most %(limit)s, by id).
select
    customer_id, segment_key, segment_name, recency_days, frequency, monetary, tenure_days, r_score, f_score,
    m_score, distance, confidence
from segflow_bi.current_segments
where segment_key = %(segment_key)s
order by customer_id
limit %(limit)s
