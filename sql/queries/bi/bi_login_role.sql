-- Whether a role exists, and whether it is a plain BI login: a member of segflow_bi and of nothing else,
-- with no privilege beyond logging in (so create-bi-user never resets the password of a stronger role).
with candidate as (
    select oid, rolname, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls
    from pg_catalog.pg_roles
    where rolname = %(name)s
),

memberships as (
    select m.member, array_agg(g.rolname::text order by g.rolname) as groups
    from pg_catalog.pg_auth_members as m
    inner join pg_catalog.pg_roles as g on g.oid = m.roleid
    where m.member = (select oid from candidate)
    group by m.member
),

final as (
    select
        c.rolname,
        not (c.rolsuper or c.rolcreaterole or c.rolcreatedb or c.rolreplication or c.rolbypassrls)
            and coalesce(m.groups = array['segflow_bi'], false) as is_bi_login
    from candidate as c
    left join memberships as m on m.member = c.oid
)

select rolname, is_bi_login from final
