-- segflow_bi.runs: one row per as-of date segflow has run, whatever became of it, with plain columns only (the
-- JSON of timings, cut points and aggregates stays in segflow.run_attempts).
create or replace view segflow_bi.runs as
with runs as (
    select * from segflow.runs
),

pointer as (
    select attempt_id from segflow.current_run
),

final as (
    select
        r.run_id,
        r.as_of,
        r.status,
        r.outcome,
        r.model_version,
        r.retrained,
        r.retrain_reason,
        r.lookback_days,
        r.window_start,
        r.source_newest_day,
        r.stale_source_allowed,
        r.lines_total,
        r.purchase_lines,
        r.excluded_after_as_of,
        r.excluded_unknown_customer,
        r.excluded_cancellation_or_return,
        r.excluded_non_positive_price,
        r.excluded_duplicate,
        r.customers_known,
        r.customers_active,
        r.customers_inactive,
        r.members_moved,
        r.members_returned_all,
        r.name_contradictions,
        r.started_at,
        r.finished_at,
        extract(epoch from r.finished_at - r.started_at)::double precision as run_seconds,
        r.published_at,
        r.withdrawn_at,
        r.withdrawn_reason,
        r.error,
        r.attempt_id in (select attempt_id from pointer) as is_current
    from runs as r
)

select * from final;
