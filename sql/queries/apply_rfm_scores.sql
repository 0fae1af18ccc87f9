-- R, F and M scores 1-5 from stored cut points (ascending quintile boundaries, four each): F and M
-- count the boundaries strictly below the value, R counts them for the days since the last purchase
-- and is reversed (recent = 5). Strictly below, so that when a fifth of customers or more share the
-- lowest value (frequency 1 is common) they all score 1, not a middle score.
with cuts as (
    select
        %(recency)s::double precision[] as r,
        %(frequency)s::double precision[] as f,
        %(monetary)s::double precision[] as m
)

update segflow.customer_features as cf
set
    r_score = 5 - ((cf.recency_days > c.r[1])::int + (cf.recency_days > c.r[2])::int
        + (cf.recency_days > c.r[3])::int + (cf.recency_days > c.r[4])::int),
    f_score = 1 + (cf.frequency > c.f[1])::int + (cf.frequency > c.f[2])::int
        + (cf.frequency > c.f[3])::int + (cf.frequency > c.f[4])::int,
    m_score = 1 + (cf.monetary > c.m[1])::int + (cf.monetary > c.m[2])::int
        + (cf.monetary > c.m[3])::int + (cf.monetary > c.m[4])::int
from cuts as c
where cf.attempt_id = %(attempt_id)s and cf.frequency is not null
