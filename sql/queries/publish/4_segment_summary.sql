-- Step 4 of publishing: the run's per-segment summary (segflow.segment_summary), replacing the one of
-- the attempt it replaces. Two statements: in one, a data-modifying CTE's delete would run after the insert.
delete from segflow.segment_summaries
where run_id = (select run_id from segflow.run_attempts where attempt_id = %(attempt_id)s);

with customers as (
    select t.run_id, t.attempt_id, a.segment_key, a.segment_name, a.action, a.model_version, f.recency_days,
        f.frequency, f.monetary
    from segflow.run_attempts as t
    inner join segflow.segment_assignments as a on a.attempt_id = t.attempt_id
    left join segflow.customer_features as f on f.attempt_id = a.attempt_id and f.customer_id = a.customer_id
    where t.attempt_id = %(attempt_id)s
),

final as (
    select
        run_id,
        attempt_id,
        segment_key,
        segment_name,
        -- every member of a segment gets the same action in a run
        min(action) as action,
        max(model_version) as model_version,
        count(*) as customers,
        count(*)::double precision / sum(count(*)) over () as share,
        avg(recency_days)::double precision as mean_recency_days,
        percentile_cont(0.5) within group (order by recency_days) as median_recency_days,
        avg(frequency)::double precision as mean_frequency,
        percentile_cont(0.5) within group (order by frequency) as median_frequency,
        avg(monetary)::double precision as mean_monetary,
        percentile_cont(0.5) within group (order by monetary) as median_monetary,
        coalesce(sum(monetary), 0) as total_monetary
    from customers
    group by run_id, attempt_id, segment_key, segment_name
)

insert into segflow.segment_summaries (
    run_id, attempt_id, segment_key, segment_name, action, model_version, customers, share, mean_recency_days,
    median_recency_days, mean_frequency, median_frequency, mean_monetary, median_monetary, total_monetary
)
select
    run_id, attempt_id, segment_key, segment_name, action, model_version, customers, share, mean_recency_days,
    median_recency_days, mean_frequency, median_frequency, mean_monetary, median_monetary, total_monetary
from final
