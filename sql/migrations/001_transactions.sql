-- Raw retail transaction lines (the public contract users load into or mirror) and the
-- bookkeeping of imports: one row per imported file or generated data set, and every rejected line.

create table segflow.import_batches (
    batch_id bigint generated always as identity primary key,
    source_kind text not null check (source_kind in ('file', 'generator')),
    source_name text not null,
    -- sha256 of the decompressed file (or of the generator's parameters): the same content twice is one batch.
    content_sha256 text not null unique,
    layout text not null,
    lines_read bigint not null default 0,
    lines_loaded bigint not null default 0,
    lines_rejected bigint not null default 0,
    rejected_by_reason jsonb not null default '{}'::jsonb,
    started_at timestamptz not null default now(),
    finished_at timestamptz
);

create table segflow.transactions (
    invoice_id text not null,
    stock_code text,
    description text,
    quantity numeric not null,
    unit_price numeric not null,
    invoiced_at timestamptz not null,
    -- null: the line has no known customer (kept, and counted by the data-quality rules).
    customer_id text,
    country text,
    -- segflow's own columns, each with a default so that rows inserted by other tools need not name them.
    batch_id bigint default null references segflow.import_batches (batch_id) on delete cascade,
    line_number bigint default null
);

create index transactions_batch_idx on segflow.transactions (batch_id);

create table segflow.import_rejects (
    batch_id bigint not null references segflow.import_batches (batch_id) on delete cascade,
    line_number bigint not null,
    reason text not null,
    detail text not null,
    raw_line text not null,
    primary key (batch_id, line_number)
);
