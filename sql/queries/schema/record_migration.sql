insert into segflow.schema_migrations (version, name, sha256)
values (%(version)s, %(name)s, %(sha256)s)
