-- The read-only group role and its grants, as migration 005 makes them, for databases whose migration
-- ran as a user without CREATEROLE. Idempotent; needs CREATEROLE.
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
to segflow_bi
