-- BI tools read schema segflow_bi (issue 23): it holds exactly the relations a BI login may read, as views that
-- live in sql/views/bi_*.sql and are described from segflow/bi_catalog.py. This migration does only what a view
-- file cannot: make the schema, give the per-run segment summary its action, and take back the BI role's grants on
-- segflow's tables. The old views segflow.current_segments, segment_summary, segment_history and runs stay
-- readable for one release (deprecated; a view reads its tables with its owner's rights, so they need no grant).
create schema segflow_bi;

-- A segment's action in every run: the summary row is what a chart shows, so it carries the action its members got
-- (rule segments take theirs from segflow.segments, not from model_segments).
alter table segflow.segment_summaries add column action text;

-- Published runs of earlier releases get theirs from their members, in one pass over the assignments.
update segflow.segment_summaries as s
set action = a.action
from (
    select attempt_id, segment_key, min(action) as action
    from segflow.segment_assignments
    where attempt_id in (select attempt_id from segflow.segment_summaries)
    group by attempt_id, segment_key
) as a
where a.attempt_id = s.attempt_id and a.segment_key = s.segment_key;

-- The owner of these objects may grant and revoke on them without CREATEROLE; the role may not exist (005).
do $$
begin
    if exists (select from pg_catalog.pg_roles where rolname = 'segflow_bi') then
        grant usage on schema segflow_bi to segflow_bi;
        revoke select on
            segflow.segment_transitions,
            segflow.model_versions,
            segflow.drift_reports,
            segflow.model_segments
        from segflow_bi;
        -- `segflow api` may run as a BI login (SEGFLOW_API_DATABASE_URL): it needs the champion, its artifact and
        -- cut points, its segments' names, and nothing else of these tables (sql/queries/registry/*).
        grant select (version, status, artifact_path, artifact_sha256, rfm_cut_points)
        on segflow.model_versions to segflow_bi;
        grant select (model_version, segment_key, name, action) on segflow.model_segments to segflow_bi;
    end if;
end
$$;

-- Existing BI logins look in segflow_bi first, as new ones do (sql/admin/bi_login_search_path.sql). Changing
-- another role needs CREATEROLE (and ADMIN OPTION on PostgreSQL 16+): without it, rerunning
-- `segflow db create-bi-user NAME` for each login does it.
do $$
declare
    login text;
begin
    for login in
        select r.rolname
        from pg_catalog.pg_roles as r
        inner join pg_catalog.pg_auth_members as m on m.member = r.oid
        inner join pg_catalog.pg_roles as g on g.oid = m.roleid
        where g.rolname = 'segflow_bi' and r.rolcanlogin
    loop
        execute format('alter role %I set search_path = segflow_bi', login);
    end loop;
exception when insufficient_privilege then
    raise notice 'BI logins keep their search_path (no privilege); segflow db create-bi-user NAME sets it';
end
$$;
