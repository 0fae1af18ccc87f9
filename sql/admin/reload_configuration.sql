-- Re-read pg_hba.conf and pg_ident.conf: new login rules apply to the next connection, no restart needed.
select pg_catalog.pg_reload_conf()
