-- The dates a drift page's header names: the run's as-of date, the reference run's (null for the training
-- reference) and the as-of date the reference model was trained on (null without one).
with run_dates as (
    select attempt_id, as_of
    from segflow.run_attempts
    where attempt_id in (%(attempt_id)s, %(reference_attempt)s)
),

model_dates as (
    select as_of
    from segflow.model_versions
    where version = %(reference_version)s
),

final as (
    select
        (select as_of from run_dates where attempt_id = %(attempt_id)s) as as_of,
        (select as_of from run_dates where attempt_id = %(reference_attempt)s) as reference_as_of,
        (select as_of from model_dates) as model_as_of
)

select as_of, reference_as_of, model_as_of from final
