-- Exact segment shares of an attempt's clustered customers (rule segments left out).
select segment_key, count(*) as customers, count(*)::double precision / sum(count(*)) over () as share
from segflow.segment_assignments
where attempt_id = %(attempt_id)s and segment_key not in ('inactive', 'unscored')
group by segment_key
order by segment_key
