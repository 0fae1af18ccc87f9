-- The read-only group role and its grants, as migration 005 makes them, for databases whose migration
-- ran as a user without CREATEROLE. Idempotent; needs CREATEROLE. The relations come
-- from segflow.bi.BI_RELATIONS, the one list of what BI may read.
do $$
begin
    if not exists (select from pg_catalog.pg_roles where rolname = 'segflow_bi') then
        create role segflow_bi nologin;
    end if;
end
$$;

grant usage on schema segflow to segflow_bi;

grant select on {relations} to segflow_bi
