-- A scored attempt's figures for the names' rules (segflow/segments.py): members moved because their own R/F/M
-- scores contradicted their cluster's name, members whose returns cancel their purchases, and the check that must
-- be 0: members whose name, as written, still contradicts their own scores (more than %(tolerance)s from the
-- name's prototype on some axis; the prototypes are bound from segflow.segments.NAMES). Stored with the attempt.
with prototypes as (
    select p.name, p.r, p.f, p.m
    from unnest(%(names)s::text[], %(r)s::float8[], %(f)s::float8[], %(m)s::float8[]) as p (name, r, f, m)
),

members as (
    select a.segment_key, a.cluster_key, a.segment_name, a.r_score, a.f_score, a.m_score
    from segflow.segment_assignments as a
    where a.attempt_id = %(attempt_id)s
),

counts as (
    select
        count(*) filter (
            where m.segment_key <> m.cluster_key and m.segment_key <> %(returned_all_key)s
        )::integer as moved,
        count(*) filter (where m.segment_key = %(returned_all_key)s)::integer as returned_all,
        count(*) filter (
            where abs(m.r_score - p.r) > %(tolerance)s
                or abs(m.f_score - p.f) > %(tolerance)s
                or abs(m.m_score - p.m) > %(tolerance)s
        )::integer as contradictions
    from members as m
    left join prototypes as p on p.name = m.segment_name
)

update segflow.run_attempts as r
set
    members_moved = c.moved,
    members_returned_all = c.returned_all,
    name_contradictions = c.contradictions
from counts as c
where r.attempt_id = %(attempt_id)s
returning r.members_moved, r.members_returned_all, r.name_contradictions
