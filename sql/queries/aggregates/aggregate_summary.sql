-- What the aggregates reflect, for `segflow db status` and a run's preflight: the source, whether a rebuild is
-- due and why, the watermark, when they were last folded and rebuilt, and how many keys wait to be folded.
with state as (
    select source_table, needs_rebuild, rebuild_reason, watermark_day, folded_at, rebuilt_at
    from segflow.aggregate_state
),

final as (
    select
        s.source_table,
        s.needs_rebuild,
        s.rebuild_reason,
        s.watermark_day,
        s.folded_at,
        s.rebuilt_at,
        (select count(*) from segflow.changed_line_keys) as pending_keys,
        (select count(*) from segflow.customer_firsts) as customers
    from state as s
)

select * from final
