-- segflow_bi.segment_transitions: one row per customer of a published run and every earlier published run, with
-- both dates and both segments, so "who moved from X to Y between two dates" is four filters. A customer new since
-- the earlier run comes from 'new_customer'. Filter on both dates: every pair of runs is here (run pairs are few).
-- Both sides come from segflow.segment_ranges (the range covering each date), so any two published runs compare,
-- whether or not their per-customer rows are still kept.
create or replace view segflow_bi.segment_transitions as
with published as (
    select run_id, as_of, attempt_id
    from segflow.run_attempts
    where status = 'published'
),

run_pairs as (
    select
        f.run_id as from_run_id,
        f.as_of as from_as_of,
        t.run_id as to_run_id,
        t.as_of as to_as_of,
        not exists (
            select from published as b where b.as_of > f.as_of and b.as_of < t.as_of
        ) as consecutive
    from published as f
    inner join published as t on t.as_of > f.as_of
),

final as (
    select
        t.customer_id,
        p.from_run_id,
        p.from_as_of,
        coalesce(f.segment_key, 'new_customer') as from_segment_key,
        coalesce(f.segment_name, 'new_customer') as from_segment_name,
        p.to_run_id,
        p.to_as_of,
        t.segment_key as to_segment_key,
        t.segment_name as to_segment_name,
        coalesce(f.segment_key, 'new_customer') <> t.segment_key as moved,
        p.to_as_of - p.from_as_of as days_between,
        p.consecutive
    from run_pairs as p
    inner join segflow.segment_ranges as t
        on t.valid_from <= p.to_as_of and (t.valid_to is null or t.valid_to > p.to_as_of)
    left join segflow.segment_ranges as f
        on f.customer_id = t.customer_id
        and f.valid_from <= p.from_as_of
        and (f.valid_to is null or f.valid_to > p.from_as_of)
)

select * from final;
