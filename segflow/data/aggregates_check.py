"""The aggregates checked against a full recompute from every line: the same features and data-quality counts
or a list of what differs (`segflow rebuild --check`, and the tests that prove folding exact)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from psycopg2 import sql

from segflow.data import features
from segflow.settings import Settings
from segflow.storage.db import Database, run_named


@dataclass(frozen=True)
class Check:
    """The aggregates against a full recompute from the lines, as of a date."""

    as_of: date
    customers: int
    differing_customers: int
    example_customers: list[str]
    counts_from_aggregates: dict[str, int]
    counts_from_lines: dict[str, int]

    @property
    def exact(self) -> bool:
        return self.differing_customers == 0 and self.counts_from_aggregates == self.counts_from_lines


def check_against_lines(db: Database, settings: Settings, as_of: date) -> Check:
    """Compare every customer's features and the data-quality counts from the aggregates (as they are now, not
    folded first) with a full recompute from every line of the source; changes nothing."""
    counts = features.data_quality_counts(db, as_of)
    from_lines = features.data_quality_counts_from_lines(db, settings, as_of)
    with db.transaction() as cur:
        run_named(cur, "queries/aggregates/create_feature_comparison")
        for table, recompute in (("features_from_aggregates", False), ("features_from_lines", True)):
            features.insert_rfm_features(
                cur, settings, sql.Identifier(table), 0, as_of, settings.lookback_days, from_lines=recompute
            )
        customers, differing, examples = run_named(cur, "queries/aggregates/feature_differences")[0]
    return Check(as_of, customers, differing, list(examples or []), counts, from_lines)
