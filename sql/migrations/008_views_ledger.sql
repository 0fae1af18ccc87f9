-- Views are code, migrations are history: the views BI reads live in sql/views, one file each, and are
-- (re)created after the migrations whenever their file changed. This ledger records which version of each
-- view file is in place.
create table segflow.schema_views (
    name text primary key,
    sha256 text not null,
    applied_at timestamptz not null default now()
);
