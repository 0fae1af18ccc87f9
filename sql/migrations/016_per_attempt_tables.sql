-- Per-customer rows in one table per attempt (issue 25): segment_assignments and customer_features become tables
-- partitioned by range of attempt_id. A night writes its rows into a fresh table of its own without indexes, builds
-- the primary key once all its rows are in and attaches the table as the attempt's partition
-- (segflow/storage/attempt_tables.py); retention drops an old attempt's tables whole instead of deleting rows.
--
-- The rows written before this migration are not copied: each old table becomes one partition covering every
-- attempt id up to the newest one now, after a CHECK constraint that lets the attach skip its scan; its primary key
-- index becomes the partition's. Attempts after the migration get tables of their own; writes for an older attempt
-- (a rerun of one still running now) go through the parent into that partition, as before.

-- No attempt may start while the bound is taken.
lock table segflow.run_attempts in share row exclusive mode;

-- Views read a table by its identity, not its name: the views over the two tables would follow the renamed old
-- tables. Drop them (and what reads them); forgetting the view ledger re-creates every view and function from its
-- file after the migrations (segflow/storage/migrations.py), with their grants and descriptions.
do $$
declare
    dependent record;
begin
    for dependent in
        select distinct r.ev_class::regclass::text as name
        from pg_catalog.pg_depend as d
        inner join pg_catalog.pg_rewrite as r on r.oid = d.objid
        where d.classid = 'pg_catalog.pg_rewrite'::regclass
            and d.refclassid = 'pg_catalog.pg_class'::regclass
            and d.refobjid in ('segflow.segment_assignments'::regclass, 'segflow.customer_features'::regclass)
            and r.ev_class not in ('segflow.segment_assignments'::regclass, 'segflow.customer_features'::regclass)
    loop
        execute format('drop view if exists %s cascade', dependent.name);
    end loop;
end
$$;

delete from segflow.schema_views;

alter table segflow.segment_assignments rename to segment_assignments_before_016;
alter index segflow.segment_assignments_pkey rename to segment_assignments_before_016_pkey;
alter table segflow.customer_features rename to customer_features_before_016;
alter index segflow.customer_features_pkey rename to customer_features_before_016_pkey;

create table segflow.segment_assignments (
    like segflow.segment_assignments_before_016 including defaults,
    primary key (attempt_id, customer_id)
) partition by range (attempt_id);

create table segflow.customer_features (
    like segflow.customer_features_before_016 including defaults,
    primary key (attempt_id, customer_id)
) partition by range (attempt_id);

-- Attempts from this id on have tables of their own; those below it live in the *_before_016 partitions.
create table segflow.per_attempt_tables (
    singleton boolean primary key default true check (singleton),
    first_own_attempt bigint not null
);

insert into segflow.per_attempt_tables (first_own_attempt)
select coalesce(max(attempt_id), 0) + 1
from segflow.run_attempts;

do $$
declare
    bound bigint := (select first_own_attempt from segflow.per_attempt_tables);
begin
    -- The CHECK scans each old table once (reading, not copying); the attach then trusts it.
    execute format(
        'alter table segflow.segment_assignments_before_016 add constraint segment_assignments_before_016_attempts '
        'check (attempt_id < %s)', bound
    );
    execute format(
        'alter table segflow.segment_assignments attach partition segflow.segment_assignments_before_016 '
        'for values from (minvalue) to (%s)', bound
    );
    execute format(
        'alter table segflow.customer_features_before_016 add constraint customer_features_before_016_attempts '
        'check (attempt_id < %s)', bound
    );
    execute format(
        'alter table segflow.customer_features attach partition segflow.customer_features_before_016 '
        'for values from (minvalue) to (%s)', bound
    );
end
$$;

-- When retention dropped an attempt's per-customer rows (SEGFLOW_SCORED_RUNS_KEPT); null while they are kept.
alter table segflow.run_attempts add column rows_dropped_at timestamptz;
