-- Customers per (from, to) segment into a run from the published run before it, with segment names (a
-- key's name in the later run first: after a model change the earlier run is compared under its model),
-- and the model version the earlier run was re-scored with (null: both runs had the same model).
with moves as (
    select from_run, to_run, from_segment_key, to_segment_key, customers, compared_under_model
    from segflow.segment_transitions
    where to_run = %(run_id)s
),

names as (  -- from the runs' segment summaries: kept for every published run, unlike its per-customer rows
    select run_id, segment_key, segment_name
    from segflow.segment_summaries
    where run_id in (select from_run from moves union select to_run from moves)
)

select
    m.from_run, m.to_run, m.from_segment_key as from_key,
    coalesce(tf.segment_name, f.segment_name, m.from_segment_key) as from_name,
    m.to_segment_key as to_key, coalesce(t.segment_name, m.to_segment_key) as to_name, m.customers,
    m.compared_under_model as compared_under
from moves as m
left join names as f on f.run_id = m.from_run and f.segment_key = m.from_segment_key
left join names as tf on tf.run_id = m.to_run and tf.segment_key = m.from_segment_key
left join names as t on t.run_id = m.to_run and t.segment_key = m.to_segment_key
order by m.from_segment_key, m.to_segment_key
