-- The run a model version was trained in (no row when the model has none on record): its run, date, known and
-- inactive customers, and whether that run's counts and sample (segflow.run_segment_counts, kept after its
-- per-customer rows are pruned) or, for a run scored before they were kept, its assignments are there as this model
-- scored them (a run whose challenger lost was scored by the champion).
with model as (
    select version, trained_in_attempt
    from segflow.model_versions
    where version = %(version)s
),

final as (
    select
        a.attempt_id,
        a.run_id,
        a.as_of,
        a.customers_known,
        a.customers_inactive,
        exists (
            select 1
            from segflow.run_segment_counts as c
            where c.attempt_id = a.attempt_id and c.model_version = m.version
        )
        or (
            not exists (select 1 from segflow.run_segment_counts as c where c.attempt_id = a.attempt_id)
            and exists (
                select 1
                from segflow.segment_assignments as s
                where s.attempt_id = a.attempt_id and s.model_version = m.version
            )
        ) as scored_by_model
    from model as m
    inner join segflow.run_attempts as a on a.attempt_id = m.trained_in_attempt
)

select attempt_id, run_id, as_of, customers_known, customers_inactive, scored_by_model from final
