-- Attribute names loaded with `segflow load-customers`: how many customers have each, how many of those values
-- are not numbers (the loader keeps text it cannot read as a number as a JSON string), and one such value.
with loaded as (
    select key, value
    from segflow.customer_attributes, jsonb_each(attributes) as pairs (key, value)
),

final as (
    select
        key,
        count(*) as customers,
        count(*) filter (where jsonb_typeof(value) <> 'number') as non_numeric,
        min(value #>> '{}') filter (where jsonb_typeof(value) <> 'number') as non_numeric_example
    from loaded
    group by key
)

select key, customers, non_numeric, non_numeric_example
from final
order by key
