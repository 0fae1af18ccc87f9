-- Fresh planner statistics for an attempt's rows once they are in: with none, "rows of this attempt" looks like
-- almost none, and the joins of publishing, transitions and drift become nested loops over a million rows each.
analyze {table}
