-- A login in the read-only BI group; {login} is a quoted identifier, the password a bound value.
create role {login} login password %(password)s in role segflow_bi
