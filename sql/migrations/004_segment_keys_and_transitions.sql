-- Segment keys that stay stable across model versions, where customers move between runs, and drift.

-- Every segment key ever used: active while the champion has it, retired when a new champion no
-- longer does. Keys are never reused.
create table segflow.segment_keys (
    segment_key text primary key,
    name text not null,
    action text not null,
    first_version integer not null references segflow.model_versions (version),
    last_version integer not null references segflow.model_versions (version),
    status text not null check (status in ('active', 'retired')),
    retired_at timestamptz
);

-- Customers per (from segment, to segment) between consecutive published runs (by as-of date).
-- Customers new in the later run come from the key 'new_customer'.
create table segflow.segment_transitions (
    from_run bigint not null references segflow.run_keys (run_id),
    to_run bigint not null references segflow.run_keys (run_id),
    from_segment_key text not null,
    to_segment_key text not null,
    customers integer not null,
    primary key (from_run, to_run, from_segment_key, to_segment_key)
);

create index segment_transitions_to_run_idx on segflow.segment_transitions (to_run);

-- What each model was trained on, for drift against "training": a sample of the training customers
-- with their features and segment.
create table segflow.model_training_snapshots (
    model_version integer not null references segflow.model_versions (version),
    customer_id text not null,
    segment_key text not null,
    recency_days double precision,
    frequency double precision,
    monetary double precision,
    tenure_days double precision,
    avg_order_value double precision,
    primary key (model_version, customer_id)
);

-- One drift report per run and reference ('previous' published run, or the champion's 'training'
-- snapshot); a rerun of the run replaces it.
create table segflow.drift_reports (
    run_id bigint not null references segflow.run_keys (run_id),
    reference text not null check (reference in ('previous', 'training')),
    attempt_id bigint not null references segflow.run_attempts (attempt_id),
    reference_run bigint references segflow.run_keys (run_id),
    reference_model_version integer references segflow.model_versions (version),
    dataset_drift boolean not null,
    drift_share double precision not null,
    segment_psi double precision not null,
    segment_js double precision not null,
    html_path text not null,
    details jsonb not null,
    created_at timestamptz not null default now(),
    primary key (run_id, reference)
);
