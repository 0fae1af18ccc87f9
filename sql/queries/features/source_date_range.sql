-- When the source's lines begin and end, by UTC day: the folded per-day totals and the keys not folded yet (for
-- an error message that says which dates have data).
with days as (
    select day from segflow.daily_line_totals
    union all
    select day from segflow.changed_line_keys
)

select min(day), max(day)
from days
