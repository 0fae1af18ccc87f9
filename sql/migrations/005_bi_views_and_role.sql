-- What BI tools read: per-run segment summaries and per-customer history, and the read-only group
-- role `segflow_bi` that may SELECT the BI relations and nothing else (no transactions, no writes).

-- Per customer per published run: the segment, the features it came from, and the model.
create view segflow.segment_history as
with published as (
    select run_id, as_of, attempt_id, published_at
    from segflow.run_attempts
    where status = 'published'
),

pointer as (
    select attempt_id from segflow.current_run
),

final as (
    select
        p.run_id,
        p.as_of,
        a.customer_id,
        a.segment_key,
        a.segment_name,
        a.action,
        a.model_version,
        f.recency_days,
        f.frequency,
        f.monetary,
        f.tenure_days,
        f.avg_order_value,
        a.r_score,
        a.f_score,
        a.m_score,
        a.distance,
        a.confidence,
        p.attempt_id in (select attempt_id from pointer) as is_current,
        p.published_at
    from published as p
    inner join segflow.segment_assignments as a on a.attempt_id = p.attempt_id
    left join segflow.customer_features as f on f.attempt_id = a.attempt_id and f.customer_id = a.customer_id
)

select * from final;

-- Per published run and segment: size, share, and mean and median recency, frequency and monetary.
-- Kept as a table, written by the publish transaction (queries/publish_segment_summary), so that BI
-- queries over many runs read a few rows per run instead of aggregating every customer of every run.
-- The pseudo-segments 'inactive' and 'unscored' are rows too, so shares add up to 1 per run.
create table segflow.segment_summaries (
    run_id bigint not null references segflow.run_keys (run_id),
    attempt_id bigint not null references segflow.run_attempts (attempt_id),
    segment_key text not null,
    segment_name text not null,
    model_version integer references segflow.model_versions (version),
    customers integer not null,
    share double precision not null,
    mean_recency_days double precision,
    median_recency_days double precision,
    mean_frequency double precision,
    median_frequency double precision,
    mean_monetary double precision,
    median_monetary double precision,
    total_monetary numeric not null,
    primary key (run_id, segment_key)
);

-- Runs published before this migration get their summaries now (the same aggregation as the query).
insert into segflow.segment_summaries
with customers as (
    select p.run_id, p.attempt_id, a.segment_key, a.segment_name, a.model_version, f.recency_days,
        f.frequency, f.monetary
    from segflow.run_attempts as p
    inner join segflow.segment_assignments as a on a.attempt_id = p.attempt_id
    left join segflow.customer_features as f on f.attempt_id = a.attempt_id and f.customer_id = a.customer_id
    where p.status = 'published'
)

select
    run_id, attempt_id, segment_key, segment_name, max(model_version), count(*),
    count(*)::double precision / sum(count(*)) over (partition by run_id),
    avg(recency_days), percentile_cont(0.5) within group (order by recency_days),
    avg(frequency), percentile_cont(0.5) within group (order by frequency),
    avg(monetary), percentile_cont(0.5) within group (order by monetary),
    coalesce(sum(monetary), 0)
from customers
group by run_id, attempt_id, segment_key, segment_name;

create view segflow.segment_summary as
with pointer as (
    select attempt_id from segflow.current_run
),

final as (
    select
        s.run_id,
        r.as_of,
        s.model_version,
        s.segment_key,
        s.segment_name,
        s.customers,
        s.share,
        s.mean_recency_days,
        s.median_recency_days,
        s.mean_frequency,
        s.median_frequency,
        s.mean_monetary,
        s.median_monetary,
        s.total_monetary,
        s.attempt_id in (select attempt_id from pointer) as is_current,
        r.published_at
    from segflow.segment_summaries as s
    inner join segflow.run_attempts as r on r.attempt_id = s.attempt_id
)

select * from final;

-- Which table or view each attempt read its transaction lines from (SEGFLOW_SOURCE_TABLE).
alter table segflow.run_attempts add column source_table text;

-- segflow.runs as before, plus source_table (a replaced view may only gain columns at the end).
create or replace view segflow.runs as
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
        stage_seconds, started_at, finished_at, published_at, error, source_table
    from ranked
    where rank = 1
)

select * from final;

-- The duplicate rule now lives in queries/source_distinct_lines, over whichever source is configured.
drop view segflow.distinct_transaction_lines;

-- The group role BI logins belong to (`segflow db create-bi-user` makes them). Roles belong to the
-- whole server, not one database, so another segflow database on the same server may have made it.
-- A database user without CREATEROLE cannot make it: segflow must still work for them, so the role is
-- then left to `segflow db create-bi-user` (sql/admin/bi_group_role.sql), run by someone who may.
do $$
begin
    if not exists (select from pg_catalog.pg_roles where rolname = 'segflow_bi') then
        create role segflow_bi nologin;
    end if;
    grant usage on schema segflow to segflow_bi;
    grant select on
        segflow.current_segments,
        segflow.segment_summary,
        segflow.segment_history,
        segflow.segment_transitions,
        segflow.runs,
        segflow.model_versions,
        segflow.drift_reports
    to segflow_bi;
exception when insufficient_privilege then
    raise notice 'segflow_bi was not created (no CREATEROLE); segflow db create-bi-user makes it later';
end
$$;
