-- Whether a role exists, and whether it is a BI login (a member of segflow_bi that is no superuser).
with candidate as (
    select oid, rolname, rolsuper, rolcanlogin
    from pg_catalog.pg_roles
    where rolname = %(name)s
),

final as (
    select
        c.rolname,
        c.rolcanlogin,
        not c.rolsuper and exists (
            select
            from pg_catalog.pg_auth_members as m
            inner join pg_catalog.pg_roles as g on g.oid = m.roleid
            where m.member = c.oid and g.rolname = 'segflow_bi'
        ) as is_bi_login
    from candidate as c
)

select rolname, rolcanlogin, is_bi_login from final
