"""The staged lines: sql/staging's business rules (what a purchase, a return, an unknown customer and a
duplicate are) composed over a source table, for the queries of the aggregates and the features."""

from __future__ import annotations

from psycopg2 import sql

from segflow.storage.sqlfiles import read_sql


def staged_lines(source: sql.Composable) -> dict[str, sql.Composable]:
    """{source}, {lines} and {distinct_lines} for a query over the lines of `source`."""
    lines = sql.SQL(read_sql("staging/lines")).format(source=source)
    return {
        "source": source,
        "lines": lines,
        "distinct_lines": sql.SQL(read_sql("staging/distinct_lines")).format(lines=lines),
    }
