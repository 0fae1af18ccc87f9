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
-- The pseudo-segments 'inactive' and 'unscored' are rows too, so shares add up to 1 per run.
create view segflow.segment_summary as
with customers as (
    select run_id, as_of, model_version, segment_key, segment_name, recency_days, frequency, monetary,
        is_current, published_at
    from segflow.segment_history
),

final as (
    select
        run_id,
        as_of,
        max(model_version) as model_version,
        segment_key,
        segment_name,
        count(*) as customers,
        count(*)::double precision / sum(count(*)) over (partition by run_id) as share,
        avg(recency_days)::double precision as mean_recency_days,
        percentile_cont(0.5) within group (order by recency_days) as median_recency_days,
        avg(frequency)::double precision as mean_frequency,
        percentile_cont(0.5) within group (order by frequency) as median_frequency,
        avg(monetary)::double precision as mean_monetary,
        percentile_cont(0.5) within group (order by monetary) as median_monetary,
        coalesce(sum(monetary), 0) as total_monetary,
        is_current,
        published_at
    from customers
    group by run_id, as_of, is_current, published_at, segment_key, segment_name
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

-- The group role BI logins belong to (`segflow db create-bi-user` makes them). Roles belong to the
-- whole server, not one database, so another segflow database on the same server may have made it.
do $$
begin
    if not exists (select from pg_catalog.pg_roles where rolname = 'segflow_bi') then
        create role segflow_bi nologin;
    end if;
end
$$;

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
