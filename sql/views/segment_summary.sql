-- Per published run and segment: size, share of all the run's customers, mean and median R/F/M,
-- revenue (read from the segment_summaries table the publish transaction writes). A withdrawn run's summary rows
-- are kept in that table but are not a published run's: they are left out.
create or replace view segflow.segment_summary as
with pointer as (
    select attempt_id from segflow.current_run
),

final as (
    select
        s.run_id,
        r.as_of,
        s.model_version,
        s.segment_key,
        s.segment_name,
        s.customers,
        s.share,
        s.mean_recency_days,
        s.median_recency_days,
        s.mean_frequency,
        s.median_frequency,
        s.mean_monetary,
        s.median_monetary,
        s.total_monetary,
        s.attempt_id in (select attempt_id from pointer) as is_current,
        r.published_at
    from segflow.segment_summaries as s
    inner join segflow.run_attempts as r on r.attempt_id = s.attempt_id
    where r.status = 'published'
)

select * from final;
