-- A day a fold left with no line has no data-quality counts.
delete from segflow.daily_line_totals
where lines = 0
