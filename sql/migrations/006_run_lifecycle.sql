-- What the nightly needs to run for months unattended: attempts abandoned by a killed process, what a run
-- decided about training in words, the champion/challenger gate's measurements, and like-for-like
-- comparisons between runs scored by different model versions.

-- An attempt whose process died (its advisory lock is gone) becomes 'abandoned' when the next run or
-- `db status` notices it; its rows are removed like a failed attempt's.
alter table segflow.run_attempts drop constraint run_attempts_status_check;
alter table segflow.run_attempts add constraint run_attempts_status_check
    check (status in ('running', 'published', 'failed', 'replaced', 'abandoned'));

-- What the run did about its model, in words: "scored with champion v3", "trained challenger v5, which
-- lost", "promoted challenger v5", ... (retrain_reason keeps the why).
alter table segflow.run_attempts add column outcome text;

-- The champion/challenger gate of a version trained while another was champion: both silhouettes on the
-- same customers, how much the challenger re-segments them (adjusted Rand index), and the verdict.
alter table segflow.model_versions add column challenge jsonb;

-- A run's customers as another model version scores them (rule segments 'inactive'/'unscored' kept), so
-- that a run can be compared with the previous one under the same model when the model changed.
create table segflow.comparison_assignments (
    attempt_id bigint not null references segflow.run_attempts (attempt_id) on delete cascade,
    model_version integer not null references segflow.model_versions (version),
    customer_id text not null,
    segment_key text not null,
    primary key (attempt_id, model_version, customer_id)
);

-- Null: both runs were scored by the same model. Otherwise the earlier run's customers were re-scored by
-- this version (the later run's model) before comparing.
alter table segflow.segment_transitions add column compared_under_model integer
    references segflow.model_versions (version);
alter table segflow.drift_reports add column compared_under_model integer
    references segflow.model_versions (version);

-- segflow.runs as before, plus outcome (a replaced view may only gain columns at the end).
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
        stage_seconds, started_at, finished_at, published_at, error, source_table, outcome
    from ranked
    where rank = 1
)

select * from final;
