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

grant select on {relations}, {deprecated} to segflow_bi
