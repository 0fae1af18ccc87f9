-- The read-only group role and its grants, as migrations 005 and 014 make them, for databases whose migration
-- ran as a user without CREATEROLE. Idempotent; needs CREATEROLE. {relations} are segflow_bi's views
-- (segflow.bi_catalog, the one list of what BI may read); {deprecated} the old segflow views kept for one release.
do $$
begin
    if not exists (select from pg_catalog.pg_roles where rolname = 'segflow_bi') then
        create role segflow_bi nologin;
    end if;
end
$$;

grant usage on schema segflow_bi, segflow to segflow_bi;

grant select on {relations}, {deprecated} to segflow_bi;

-- What `segflow api` reads when it runs as a BI login (migration 014).
grant select (version, status, artifact_path, artifact_sha256, rfm_cut_points)
on segflow.model_versions to segflow_bi;

grant select (model_version, segment_key, name, action) on segflow.model_segments to segflow_bi
