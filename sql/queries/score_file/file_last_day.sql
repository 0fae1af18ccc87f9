-- The last UTC day with a line in the file: the default as-of date, as a night run on that day would use.
select max((invoiced_at at time zone 'UTC')::date) from score_file_lines
