-- Imports a user can correct: a batch is 'imported', 'failed' (it loaded nothing: every line rejected, or
-- more than the allowed share) or 'removed' (taken back, its lines deleted). The options it was read with
-- are part of its identity, so the same content read another way is told apart from a repeat. Each run
-- records which batches changed since the last published run.

alter table segflow.import_batches drop constraint import_batches_content_sha256_key;
alter table segflow.import_batches
    add column status text not null default 'imported' check (status in ('imported', 'failed', 'removed')),
    -- null: imported before options were recorded (treated as the reading of any later import).
    add column options jsonb,
    add column error text,
    add column removed_at timestamptz;

-- One imported batch per content (a corrected reading replaces the earlier one).
create unique index import_batches_one_imported_per_content
    on segflow.import_batches (content_sha256) where status = 'imported';

alter table segflow.run_attempts add column batch_changes jsonb;

-- segflow.runs as before, plus batch_changes (a replaced view may only gain columns at the end).
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
        stage_seconds, started_at, finished_at, published_at, error, source_table, outcome, batch_changes
    from ranked
    where rank = 1
)

select * from final;
