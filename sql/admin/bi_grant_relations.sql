-- What the BI role may read, re-granted whenever segflow_bi's views are (re)created: a new view has no grants. The
-- deprecated segflow views (current_segments, segment_summary, segment_history) are re-created from their files too.
-- Only called when the role exists; the views' owner may grant on them without CREATEROLE.
grant usage on schema segflow_bi to segflow_bi;

grant select on {relations}, {deprecated} to segflow_bi
