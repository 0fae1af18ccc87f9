-- `segflow api` connects as a read-only segflow_bi login and names the segments it scores: it needs each model
-- segment's name and action. Segment names, actions and centroids are what BI shows anyway; no customer data.
-- As in 005, a database user without CREATEROLE may not have made the role: `segflow db create-bi-user`
-- grants it then (segflow.bi.BI_RELATIONS lists model_segments).
do $$
begin
    if exists (select from pg_catalog.pg_roles where rolname = 'segflow_bi') then
        grant select on segflow.model_segments to segflow_bi;
    end if;
exception when insufficient_privilege then
    raise notice 'segflow_bi may not read model_segments yet (no privilege); segflow db create-bi-user grants it';
end
$$;
