-- Aggregates kept current as lines arrive, so that a night reads what changed instead of every line ever
-- loaded (issue 11). Three levels, each exact (see segflow/aggregates.py for how they are kept current):
-- * invoice_day_totals: one row per customer, invoice and UTC day, with every rule of sql/staging applied
--   once (exact duplicates counted once, returns, non-positive prices, unknown customers);
-- * customer_firsts: one row per known customer, its first line's day and first purchase (tenure, and who is
--   known as of a date, without reading history);
-- * daily_line_totals: one row per day, the data-quality counts.
-- Changes to segflow.transactions reach them through changed_line_keys, written by statement triggers
-- (sql/functions/capture_line_changes.sql) whoever inserts, updates or deletes lines; a truncate or a change of
-- SEGFLOW_SOURCE_TABLE asks for a full rebuild instead.

create table segflow.invoice_day_totals (
    -- null: lines without a customer (counted by the data-quality rules only).
    customer_id text,
    invoice_id text not null,
    day date not null,
    -- every line of the key, exact duplicates included
    lines bigint not null,
    -- known-customer lines that are returns (a cancellation or a quantity of zero or less)
    return_lines bigint not null,
    -- known-customer lines that are neither returns nor purchases (a price of zero or less)
    non_positive_price_lines bigint not null,
    -- distinct purchase lines (exact duplicates once), what they sum to, and when the first and last were
    purchase_lines bigint not null,
    purchase_amount numeric not null,
    first_purchase_at timestamptz,
    last_purchase_at timestamptz,
    -- what the distinct return lines give back
    returned_amount numeric not null
);

create unique index invoice_day_totals_key
    on segflow.invoice_day_totals (customer_id, invoice_id, day) nulls not distinct;
-- Rows are written in day order (rebuilds sort by day; nights append recent days), so a block-range index
-- finds a lookback window without reading older history.
create index invoice_day_totals_day on segflow.invoice_day_totals using brin (day);

create table segflow.customer_firsts (
    customer_id text primary key,
    first_line_day date not null,
    first_purchase_at timestamptz
);

create table segflow.daily_line_totals (
    day date primary key,
    lines bigint not null,
    unknown_customer_lines bigint not null,
    return_lines bigint not null,
    non_positive_price_lines bigint not null,
    purchase_lines bigint not null
);

-- Keys of lines inserted, updated or deleted since the last fold (duplicates allowed: a fold takes distinct keys).
create table segflow.changed_line_keys (
    customer_id text,
    invoice_id text not null,
    day date not null
);

-- One row: which source the aggregates reflect and whether they must be rebuilt. A database with lines
-- from before this migration starts with a rebuild.
create table segflow.aggregate_state (
    only_row boolean primary key default true check (only_row),
    source_table text,
    needs_rebuild boolean not null default true,
    rebuild_reason text default 'aggregates have never been built',
    -- a source other than segflow.transactions is folded by its newest line's day (the watermark)
    watermark_day date,
    rebuilt_at timestamptz,
    folded_at timestamptz
);

insert into segflow.aggregate_state default values;

-- Lines without a customer are found by invoice when their key changes (customers use the existing
-- (customer_id, invoiced_at) index).
create index transactions_unknown_customer_invoice_idx
    on segflow.transactions (invoice_id, invoiced_at)
    where customer_id is null;

-- A run records how its aggregates were brought up to date (folded keys, rebuilt, re-scanned days).
alter table segflow.run_attempts add column aggregates jsonb;
