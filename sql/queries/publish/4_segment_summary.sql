-- Step 4 of publishing: the run's per-segment summary (segflow.segment_summary), replacing the one of
-- the attempt it replaces. Two statements: in one, a data-modifying CTE's delete would run after the insert.
-- Counts, shares, means and totals are over every customer of the run (no sort: one hashed pass); medians are of
-- the run's stored sample (segflow.run_samples, SEGFLOW_DRIFT_SAMPLE customers: exact when the run has fewer),
-- except for segments with fewer than 500 customers in the sample, whose medians are over all their customers
-- (exact, and cheap: those segments are small). A median over the whole run would sort every customer three times.
delete from segflow.segment_summaries
where run_id = (select run_id from segflow.run_attempts where attempt_id = %(attempt_id)s);

with customers as not materialized (
    select t.run_id, t.attempt_id, a.segment_key, a.segment_name, a.action, a.model_version, f.recency_days,
        f.frequency, f.monetary
    from segflow.run_attempts as t
    inner join segflow.segment_assignments as a on a.attempt_id = t.attempt_id
    left join segflow.customer_features as f on f.attempt_id = a.attempt_id and f.customer_id = a.customer_id
    where t.attempt_id = %(attempt_id)s
),

whole as (
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
        avg(frequency)::double precision as mean_frequency,
        avg(monetary)::double precision as mean_monetary,
        coalesce(sum(monetary), 0) as total_monetary
    from customers
    group by run_id, attempt_id, segment_key, segment_name
),

sampled as (
    select
        segment_key,
        count(*) as sampled,
        percentile_cont(0.5) within group (order by recency_days) as median_recency_days,
        percentile_cont(0.5) within group (order by frequency) as median_frequency,
        percentile_cont(0.5) within group (order by monetary) as median_monetary
    from segflow.run_samples
    where attempt_id = %(attempt_id)s
    group by segment_key
),

few as (
    select w.segment_key
    from whole as w
    left join sampled as s on s.segment_key = w.segment_key
    where coalesce(s.sampled, 0) < 500 and w.customers > coalesce(s.sampled, 0)
),

exact as (
    select
        segment_key,
        percentile_cont(0.5) within group (order by recency_days) as median_recency_days,
        percentile_cont(0.5) within group (order by frequency) as median_frequency,
        percentile_cont(0.5) within group (order by monetary) as median_monetary
    from customers
    where segment_key in (select segment_key from few)
    group by segment_key
),

final as (
    select
        w.run_id, w.attempt_id, w.segment_key, w.segment_name, w.action, w.model_version, w.customers, w.share,
        w.mean_recency_days, w.mean_frequency, w.mean_monetary, w.total_monetary,
        case when e.segment_key is not null then e.median_recency_days else s.median_recency_days end
            as median_recency_days,
        case when e.segment_key is not null then e.median_frequency else s.median_frequency end as median_frequency,
        case when e.segment_key is not null then e.median_monetary else s.median_monetary end as median_monetary
    from whole as w
    left join sampled as s on s.segment_key = w.segment_key
    left join exact as e on e.segment_key = w.segment_key
)

insert into segflow.segment_summaries (
    run_id, attempt_id, segment_key, segment_name, action, model_version, customers, share, mean_recency_days,
    median_recency_days, mean_frequency, median_frequency, mean_monetary, median_monetary, total_monetary
)
select
    run_id, attempt_id, segment_key, segment_name, action, model_version, customers, share, mean_recency_days,
    median_recency_days, mean_frequency, median_frequency, mean_monetary, median_monetary, total_monetary
from final
