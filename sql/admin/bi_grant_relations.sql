-- What the BI role may read, re-granted whenever segflow_bi's views are (re)created: a new view has no grants.
-- Only called when the role exists; the views' owner may grant on them without CREATEROLE.
grant usage on schema segflow_bi to segflow_bi;

grant select on {relations} to segflow_bi
