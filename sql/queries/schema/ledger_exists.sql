select to_regclass('segflow.schema_migrations') is not null
