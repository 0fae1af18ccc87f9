-- A BI login sees segflow's views without a schema prefix.
alter role {login} set search_path = segflow, public
