-- docker-compose.yml mounts this into the postgres container's /docker-entrypoint-initdb.d: it runs once,
-- as POSTGRES_USER in POSTGRES_DB (segflow's database), when the data volume is first initialised.
-- Prefect's server keeps its own state in a database of its own, and so does Metabase (profile "bi"),
-- so that neither shares tables, migrations or backups with segflow's schema.
-- The names are fixed: docker-compose.yml connects to them (tests/test_compose.py keeps both in step).
create database prefect;
create database metabase_app;
