-- The aggregates now reflect this source up to its newest line's day.
update segflow.aggregate_state
set source_table = %(source_table)s,
    needs_rebuild = false,
    rebuild_reason = null,
    watermark_day = (select max(day) from segflow.daily_line_totals),
    folded_at = now(),
    rebuilt_at = case when %(rebuilt)s then now() else rebuilt_at end
