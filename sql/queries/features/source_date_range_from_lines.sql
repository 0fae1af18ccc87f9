-- When the source table's lines begin and end, read from the lines (when the aggregates do not reflect them yet).
select min(s.invoiced_at), max(s.invoiced_at)
from {source} as s
