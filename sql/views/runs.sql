-- Every run: its published attempt, or else its latest one, with what it decided and why. A withdrawn run shows
-- status 'withdrawn' with when and why (until it is run again); a run whose source check was overridden says so.
create or replace view segflow.runs as
with ranked as (
    select
        a.*,
        row_number() over (
            partition by a.run_id order by (a.status = 'published') desc, a.attempt_id desc
        ) as rank
    from segflow.run_attempts as a
),

final as (
    select
        run_id, as_of, status, retrained, retrain_reason, model_version, attempt_id, retrain_mode,
        features, lookback_days, window_start, lines_total, purchase_lines, excluded_after_as_of,
        excluded_unknown_customer, excluded_cancellation_or_return, excluded_non_positive_price,
        excluded_duplicate, customers_known, customers_active, customers_inactive, rfm_cut_points,
        stage_seconds, started_at, finished_at, published_at, error, source_table, outcome, batch_changes, aggregates,
        source_newest_day, stale_source_allowed, withdrawn_at, withdrawn_reason,
        members_moved, members_returned_all, name_contradictions
    from ranked
    where rank = 1
)

select * from final;
