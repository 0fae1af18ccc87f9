-- Whether the BI group role exists on this server (a user without CREATEROLE may not have made it yet).
select exists (select from pg_catalog.pg_roles where rolname = 'segflow_bi')
