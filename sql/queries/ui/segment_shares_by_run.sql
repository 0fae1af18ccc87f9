-- Each published run's segment shares (of all its customers), for the shares-over-nights chart.
select run_id, as_of, segment_key, segment_name, customer_share as share
from segflow_bi.segment_summary
order by as_of, run_id, segment_key
