-- The nightly pipeline: runs and their attempts, per-attempt features and assignments, the model
-- registry and its segments, and the pointer that says which published attempt BI reads.

create table segflow.customer_attributes (
    customer_id text primary key,
    attributes jsonb not null,
    source_name text not null,
    loaded_at timestamptz not null default now()
);

create table segflow.model_versions (
    version integer primary key,
    created_at timestamptz not null default now(),
    status text not null default 'candidate' check (status in ('candidate', 'champion', 'retired')),
    algorithm text not null,
    params jsonb not null,
    k integer not null,
    features text[] not null,
    log_features text[] not null,
    as_of date not null,
    train_window_start date,
    train_window_end date not null,
    sample_size integer not null,
    seed integer not null,
    rfm_cut_points jsonb not null,
    metrics jsonb not null,
    candidates jsonb not null,
    selection_rule text not null,
    gates jsonb not null,
    library_versions jsonb not null,
    artifact_path text not null,
    artifact_sha256 text not null,
    trained_in_attempt bigint,
    promoted_at timestamptz
);

-- At most one champion at any time.
create unique index model_versions_one_champion on segflow.model_versions (status) where status = 'champion';

create table segflow.model_segments (
    model_version integer not null references segflow.model_versions (version),
    segment_key text not null,
    name text not null,
    action text not null,
    size integer not null,
    share double precision not null,
    centroid jsonb not null,
    profile jsonb not null,
    mean_r_score double precision,
    mean_f_score double precision,
    mean_m_score double precision,
    primary key (model_version, segment_key),
    unique (model_version, name)
);

-- The data-quality rule "exact duplicate lines count once", in one place. Queries filter it by date
-- and customer; PostgreSQL applies those filters before removing duplicates. Sorting keys use the
-- "C" collation (byte order), the fastest, so the per-customer aggregations can reuse the sort.
create view segflow.distinct_transaction_lines as
select distinct
    customer_id collate "C" as customer_id,
    invoice_id collate "C" as invoice_id,
    invoiced_at,
    stock_code,
    quantity,
    unit_price,
    description,
    country
from segflow.transactions;

-- A run is "the segmentation as of a date": one row per as-of date, whose run_id stays the same when
-- the date is run again. Each execution is an attempt; its rows are written under its attempt_id and
-- become visible only when the attempt is published, replacing the run's previous attempt.
create table segflow.run_keys (
    run_id bigint generated always as identity primary key,
    as_of date not null unique,
    created_at timestamptz not null default now()
);

create table segflow.run_attempts (
    attempt_id bigint generated always as identity primary key,
    run_id bigint not null references segflow.run_keys (run_id),
    as_of date not null,
    status text not null default 'running'
        check (status in ('running', 'published', 'failed', 'replaced')),
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    published_at timestamptz,
    retrain_mode text not null default 'auto',
    retrained boolean not null default false,
    retrain_reason text,
    model_version integer references segflow.model_versions (version),
    features text[] not null,
    lookback_days integer not null,
    window_start date not null,
    lines_total bigint,
    purchase_lines bigint,
    excluded_after_as_of bigint,
    excluded_unknown_customer bigint,
    excluded_cancellation_or_return bigint,
    excluded_non_positive_price bigint,
    excluded_duplicate bigint,
    customers_known integer,
    customers_active integer,
    customers_inactive integer,
    rfm_cut_points jsonb,
    stage_seconds jsonb not null default '{}'::jsonb,
    error text
);

create index run_attempts_run_idx on segflow.run_attempts (run_id, status);
-- One published attempt per run: a rerun replaces it in the publishing transaction.
create unique index run_attempts_one_published on segflow.run_attempts (run_id) where status = 'published';

alter table segflow.model_versions
    add constraint model_versions_trained_in_attempt_fk
    foreign key (trained_in_attempt) references segflow.run_attempts (attempt_id);

create table segflow.customer_features (
    attempt_id bigint not null references segflow.run_attempts (attempt_id) on delete cascade,
    customer_id text not null,
    recency_days integer,
    frequency integer,
    monetary numeric,
    tenure_days integer,
    avg_order_value numeric,
    return_rate numeric,
    attributes jsonb,
    primary key (attempt_id, customer_id)
);

create table segflow.segment_assignments (
    attempt_id bigint not null references segflow.run_attempts (attempt_id) on delete cascade,
    customer_id text not null,
    segment_key text not null,
    segment_name text not null,
    action text not null,
    model_version integer references segflow.model_versions (version),
    distance double precision,
    confidence double precision,
    r_score smallint,
    f_score smallint,
    m_score smallint,
    primary key (attempt_id, customer_id)
);

-- The attempt BI reads: one row, moved in the same transaction that publishes it.
create table segflow.current_run (
    singleton boolean primary key default true check (singleton),
    attempt_id bigint not null references segflow.run_attempts (attempt_id),
    switched_at timestamptz not null default now()
);

-- Every run: its published attempt, or else its latest one.
create view segflow.runs as
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
        stage_seconds, started_at, finished_at, published_at, error
    from ranked
    where rank = 1
)

select * from final;

-- The BI contract: one row per known customer of the current published run.
create view segflow.current_segments as
with pointer as (
    select attempt_id from segflow.current_run
),

final as (
    select
        a.customer_id,
        a.segment_key,
        a.segment_name,
        a.action,
        a.model_version,
        r.run_id,
        r.as_of,
        f.recency_days,
        f.frequency,
        f.monetary,
        f.tenure_days,
        a.r_score,
        a.f_score,
        a.m_score,
        a.distance,
        a.confidence
    from segflow.segment_assignments as a
    inner join pointer as p on p.attempt_id = a.attempt_id
    inner join segflow.run_attempts as r on r.attempt_id = a.attempt_id
    left join segflow.customer_features as f on f.attempt_id = a.attempt_id and f.customer_id = a.customer_id
)

select * from final;
