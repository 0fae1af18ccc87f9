-- Whether a table exists, and whether it is attached as a partition.
select
    c.oid is not null as present,
    coalesce(c.relispartition, false) as attached
from (select to_regclass(%(name)s) as oid) as t
left join pg_catalog.pg_class as c on c.oid = t.oid
