-- The columns of the source table or view (source_exists false when there is none).
with relation as (
    select to_regclass(%(source)s) as oid
),

final as (
    select a.attname::text as column_name
    from relation as r
    inner join pg_catalog.pg_attribute as a on a.attrelid = r.oid
    where a.attnum > 0 and not a.attisdropped
)

select r.oid is not null as source_exists, f.column_name
from relation as r
left join final as f on true
