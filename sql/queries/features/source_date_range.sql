-- When the source table's lines begin and end (for an error message that says which dates have data).
select min(s.invoiced_at), max(s.invoiced_at)
from {source} as s
