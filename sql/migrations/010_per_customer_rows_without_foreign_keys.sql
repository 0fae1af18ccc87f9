-- The three tables that get a row per customer per run (a million rows a night at a million customers) lose
-- their foreign keys: PostgreSQL checks a foreign key with a trigger per inserted row, which made COPY of the
-- night's assignments about three times slower (measured: 100,000 rows in 2.1 s with the keys, 0.7 s without).
-- Only segflow writes these rows, always with the attempt it is running and the version it scores with; run
-- attempts are never deleted (a failed attempt's rows are removed explicitly, queries/attempts/fail_run.sql),
-- so the cascade was never used. The primary keys stay.
alter table segflow.segment_assignments
    drop constraint segment_assignments_attempt_id_fkey,
    drop constraint segment_assignments_model_version_fkey;

alter table segflow.customer_features
    drop constraint customer_features_attempt_id_fkey;

alter table segflow.comparison_assignments
    drop constraint comparison_assignments_attempt_id_fkey,
    drop constraint comparison_assignments_model_version_fkey;
