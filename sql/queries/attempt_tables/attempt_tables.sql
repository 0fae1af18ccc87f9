-- Every attempt that has a table of its own (attached or not), with the kinds it has.
with own as (
    select
        substring(c.relname from '^(customer_features|segment_assignments)_attempt_[0-9]+$') as kind,
        substring(c.relname from '_attempt_([0-9]+)$')::bigint as attempt_id
    from pg_catalog.pg_class as c
    where c.relnamespace = 'segflow'::regnamespace
        and c.relkind = 'r'
        and c.relname ~ '^(customer_features|segment_assignments)_attempt_[0-9]+$'
),

final as (
    select attempt_id, array_agg(kind order by kind) as kinds
    from own
    group by attempt_id
)

select attempt_id, kinds from final order by attempt_id
