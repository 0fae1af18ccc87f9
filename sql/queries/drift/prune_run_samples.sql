-- Drop the samples and counts of attempts nothing needs any more: kept are the attempts of the newest
-- %(kept_runs)s published runs, every attempt still running, and every attempt a model version was trained in (its
-- 'training' drift reference). Returns the attempts whose rows went.
with kept as (
    select attempt_id
    from segflow.run_attempts
    where status = 'published'
    order by as_of desc
    limit %(kept_runs)s
),

needed as (
    select attempt_id from kept
    union
    select attempt_id from segflow.run_attempts where status = 'running'
    union
    select trained_in_attempt from segflow.model_versions where trained_in_attempt is not null
),

gone_samples as (
    delete from segflow.run_samples
    where attempt_id not in (select attempt_id from needed)
    returning attempt_id
),

gone_counts as (
    delete from segflow.run_segment_counts
    where attempt_id not in (select attempt_id from needed)
    returning attempt_id
),

final as (
    select attempt_id from gone_samples
    union
    select attempt_id from gone_counts
)

select attempt_id from final order by attempt_id
