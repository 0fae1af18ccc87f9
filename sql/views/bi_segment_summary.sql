-- segflow_bi.segment_summary: one row per published run and segment (withdrawn runs left out), read from the
-- segment_summaries table the publish transaction writes: size and revenue with their shares of the run, mean and
-- median R/F/M. The rule segments ('inactive', 'unscored', ...) are rows too, so each run's shares add up to 1.
create or replace view segflow_bi.segment_summary as
with pointer as (
    select attempt_id from segflow.current_run
),

summaries as (
    select s.*, r.as_of, r.published_at
    from segflow.segment_summaries as s
    inner join segflow.run_attempts as r on r.attempt_id = s.attempt_id
    where r.status = 'published'
),

final as (
    select
        s.run_id,
        s.as_of,
        s.model_version,
        s.segment_key,
        s.segment_name,
        s.action,
        s.customers,
        s.share as customer_share,
        s.total_monetary as revenue,
        (s.total_monetary / nullif(sum(s.total_monetary) over (partition by s.run_id), 0))::double precision
            as revenue_share,
        s.mean_recency_days,
        s.median_recency_days,
        s.mean_frequency,
        s.median_frequency,
        s.mean_monetary,
        s.median_monetary,
        s.attempt_id in (select attempt_id from pointer) as is_current,
        s.published_at
    from summaries as s
)

select * from final;
