-- A night checks how fresh its source is before computing anything, and a published run can be taken back.

-- The newest line the night saw in its source (a UTC day; null when it did not read transactions or the source
-- was empty), and whether the freshness check was deliberately overridden (`segflow run --allow-stale-source`,
-- the flow's allow_stale_source): a later reader knows the run was a what-if on old data.
alter table segflow.run_attempts
    add column source_newest_day date,
    add column stale_source_allowed boolean not null default false;

-- A withdrawn attempt was published and then taken back: its rows stay (history), BI no longer reads it, and
-- history views stop counting it. When and why it was withdrawn is kept with it.
alter table segflow.run_attempts drop constraint run_attempts_status_check;
alter table segflow.run_attempts add constraint run_attempts_status_check
    check (status in ('running', 'published', 'failed', 'replaced', 'abandoned', 'withdrawn'));

alter table segflow.run_attempts
    add column withdrawn_at timestamptz,
    add column withdrawn_reason text;
