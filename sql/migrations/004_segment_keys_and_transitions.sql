-- Segment keys that stay stable across model versions, and where customers move between runs.

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
