-- The lines of the source table from a day on (null: every line): a subquery that stands for the source table
-- in sql/staging when a source is re-read by day or rebuilt. An index on the source's invoiced_at serves it.
select s.*
from {source} as s
where %(from_day)s::date is null or s.invoiced_at >= (%(from_day)s::date::timestamp at time zone 'UTC')
