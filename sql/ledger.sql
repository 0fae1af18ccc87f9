-- The migration ledger itself: created before any numbered migration runs.
create schema if not exists segflow;

create table if not exists segflow.schema_migrations (
    version integer primary key,
    name text not null,
    sha256 text not null,
    applied_at timestamptz not null default now()
);
