-- A published attempt's segments (from the summary its publish wrote): size, share and mean R/F/M,
-- most valuable first, rule segments last.
select
    segment_key,
    segment_name,
    customers,
    share,
    mean_recency_days,
    mean_frequency,
    mean_monetary
from segflow.segment_summaries
where attempt_id = %(attempt_id)s
order by segment_key !~ '^S[0-9]+$', length(segment_key), segment_key
