-- Per segment of an attempt, the mean of every numeric attribute its customers carry (the run's snapshot of the
-- loaded customer attributes), one row per segment and attribute; text attributes (gender, tier) are left out.
with assignments as (
    select customer_id, segment_key
    from segflow.segment_assignments
    where attempt_id = %(attempt_id)s
),

numbers as (
    select a.segment_key, kv.key as attribute, kv.value
    from assignments as a
    inner join segflow.customer_features as f on f.attempt_id = %(attempt_id)s and f.customer_id = a.customer_id
    cross join lateral jsonb_each(f.attributes) as kv
    where jsonb_typeof(kv.value) = 'number'
),

final as (
    select segment_key, attribute, avg(value::double precision) as mean
    from numbers
    group by segment_key, attribute
)

select * from final
order by segment_key, attribute
