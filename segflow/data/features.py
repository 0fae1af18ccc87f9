"""Per-run customer features: computed in PostgreSQL from sql/queries, exported by COPY in chunks."""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date
from typing import Any

import numpy as np
import pandas as pd
from psycopg2 import sql

from segflow.data import aggregates, rollups
from segflow.data.staging import staged_lines
from segflow.errors import NonNumericFeature, SegflowError, UnknownFeature, joined
from segflow.orchestration.partitions import WHOLE, Partition
from segflow.settings import DEFAULT_SOURCE, Settings
from segflow.storage import attempt_tables
from segflow.storage.db import Database, read_sql, records_named, run_composed_named, run_named


@dataclasses.dataclass(eq=False)
class TooFewFeatures(SegflowError):
    """A feature list with fewer than two features."""

    template = "a model needs at least two features, got {given}"
    given: list[str]


@dataclasses.dataclass(eq=False)
class SourceTableMissing(SegflowError):
    """The source table named by the settings does not exist (or the login cannot see it)."""

    template = "source table {table} ({setting}) does not exist or is not visible"
    table: str
    setting: str = "SEGFLOW_SOURCE_TABLE"


@dataclasses.dataclass(eq=False)
class SourceColumnsMissing(SegflowError):
    """The source table lacks columns segflow reads."""

    template = (
        "source table {table} lacks column(s) {missing_text}; segflow reads {needed_text} (rename them in a view)"
    )
    table: str
    missing: list[str]
    needed: list[str]

    def facts(self) -> dict[str, Any]:
        return {**super().facts(), "missing_text": joined(self.missing), "needed_text": joined(self.needed)}


@dataclasses.dataclass(eq=False)
class RecomputeNotPartitioned(SegflowError):
    """The full recompute from every line was asked for one partition: it only runs whole."""

    template = "the recompute from every line is not split into partitions"
    partition: int


@dataclasses.dataclass(eq=False)
class NobodyActive(SegflowError):
    """A run whose lookback window holds no customer with a purchase."""

    template = "no customer has a purchase in the lookback window; nothing to segment"
    attempt_id: int


log = logging.getLogger(__name__)

RFM_FEATURES = ("recency_days", "frequency", "monetary", "tenure_days", "avg_order_value", "return_rate")
SCORED_FEATURES = ("recency_days", "frequency", "monetary")  # exported whenever transactions are used
# What segflow.modelling.segments.name_members reads besides the scores: exported whenever transactions are used, too.
NAME_RULE_FEATURES = (*SCORED_FEATURES, "return_rate")
_ATTRIBUTE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class FeatureSet:
    """The features a model clusters on, split by where they come from."""

    names: tuple[str, ...]

    @property
    def rfm(self) -> tuple[str, ...]:
        return tuple(n for n in self.names if n in RFM_FEATURES)

    @property
    def attributes(self) -> tuple[str, ...]:
        return tuple(n for n in self.names if n not in RFM_FEATURES)

    @property
    def uses_transactions(self) -> bool:
        return bool(self.rfm)


def resolve_features(db: Database, names: list[str] | tuple[str, ...]) -> FeatureSet:
    """Check that every name is an RFM feature or a loaded attribute; the error lists what exists."""
    cleaned = tuple(dict.fromkeys(n.strip() for n in names if n.strip()))
    if len(cleaned) < 2:
        raise TooFewFeatures(list(cleaned))
    unknown = [n for n in cleaned if n not in RFM_FEATURES]
    if unknown:
        keys = {
            key: (customers, text, example)
            for key, customers, text, example in db.run("queries/features/attribute_keys")
        }
        loaded = set(keys)
        missing = [n for n in unknown if n not in loaded or not _ATTRIBUTE_NAME.match(n)]
        if missing:
            raise UnknownFeature(missing, list(RFM_FEATURES), sorted(loaded))
        for name in unknown:
            customers, text, example = keys[name]
            if text:  # would fail deep inside the run as a cast error on the first text value
                raise NonNumericFeature(name, text, customers, example)
    return FeatureSet(cleaned)


SOURCE_COLUMNS = (
    "customer_id",
    "invoice_id",
    "invoiced_at",
    "stock_code",
    "quantity",
    "unit_price",
    "description",
    "country",
)


def source_parts(settings: Settings) -> dict[str, sql.Composable]:
    """The configured source table and its staged lines (sql/staging: the business rules, with and without
    exact duplicates), to fill a query's {source}, {lines} and {distinct_lines}."""
    return staged_lines(sql.Identifier(*settings.source_relation))


def transactions_summary(db: Database) -> dict[str, Any]:
    """What segflow.transactions holds: lines, customers, invoices, unknown-customer and return lines, first
    and last line time."""
    return db.records(
        "queries/features/transactions_summary", {}, **staged_lines(sql.Identifier("segflow", "transactions"))
    )[0]


def check_source_table(db: Database) -> None:
    """Refuse a source table that does not exist or lacks one of the columns segflow reads."""
    name = db.settings.source_table
    with db.transaction() as cur:
        quoted = sql.Identifier(*db.settings.source_relation).as_string(cur)
        rows = run_named(cur, "queries/features/source_columns", {"source": quoted})
    if not rows[0][0]:
        raise SourceTableMissing(name)
    missing = [c for c in SOURCE_COLUMNS if c not in {column for _, column in rows}]
    if missing:
        raise SourceColumnsMissing(name, missing, list(SOURCE_COLUMNS))


def source_date_range(db: Database) -> tuple[date | None, date | None]:
    """The first and last UTC day with lines in the source table (None, None when it is empty): from the
    aggregates and the changes not folded yet when they follow the source, else from the lines."""
    if db.settings.source_table == DEFAULT_SOURCE and aggregates.is_current_for(db, db.settings):
        first_day, last_day = db.run("queries/features/source_date_range")[0]
        return first_day, last_day
    with db.transaction() as cur:
        first, last = run_composed_named(
            cur, "queries/features/source_date_range_from_lines", {}, **source_parts(db.settings)
        )[0]
    if first is None or last is None:
        return None, None
    return first.astimezone(UTC).date(), last.astimezone(UTC).date()


def data_quality_counts(db: Database, as_of: date) -> dict[str, int]:
    """Lines in all, purchase lines, and the lines each data-quality rule excludes, as of a date: from the
    aggregates' per-day totals (bring them current first)."""
    with db.transaction() as cur:
        return _named_row(cur, "queries/features/data_quality_counts", {"as_of": as_of})


def data_quality_counts_from_lines(db: Database, settings: Settings, as_of: date) -> dict[str, int]:
    """The same counts recomputed from every line of the settings' source (what the aggregates must equal)."""
    with db.transaction() as cur:
        run_named(cur, "queries/features/tune_feature_aggregation")
        return _named_row(
            cur, "queries/features/data_quality_counts_from_lines", {"as_of": as_of}, **source_parts(settings)
        )


def _named_row(cur: Any, name: str, params: dict[str, Any], **parts: sql.Composable) -> dict[str, Any]:
    return records_named(cur, name, params, **parts)[0]


def compute_features(
    db: Database,
    attempt_id: int,
    as_of: date,
    lookback_days: int,
    features: FeatureSet,
    partition: Partition = WHOLE,
    *,
    into: str | None = None,
) -> None:
    """Fill a run's customer_features rows of one partition (all by default), replacing what a previous try wrote,
    in one transaction: RFM from the aggregates (bring them current first) and/or attribute snapshots. `into`: the
    attempt's table (segflow.storage.attempt_tables.prepare; the stage attaches it after every partition); None
    prepares it here and attaches it after this one write (a whole population in one call)."""
    table = into or attempt_tables.prepare(db, "customer_features", attempt_id)
    target = sql.Identifier("segflow", table)
    scope = {"attempt_id": attempt_id, **partition.params()}
    with db.transaction() as cur:
        run_composed_named(cur, "queries/features/delete_run_features", scope, target=target)
        if features.uses_transactions:
            insert_rfm_features(cur, db.settings, target, attempt_id, as_of, lookback_days, partition=partition)
            if features.attributes:
                run_composed_named(cur, "queries/features/attach_attributes", scope, target=target)
        else:
            run_composed_named(cur, "queries/features/attribute_population", scope, target=target)
    if into is None:
        attempt_tables.attach(db, "customer_features", attempt_id)


def insert_rfm_features(
    cur: Any,
    settings: Settings,
    target: sql.Composable,
    attempt_id: int,
    as_of: date,
    lookback_days: int,
    *,
    from_lines: bool = False,
    partition: Partition = WHOLE,
) -> None:
    """Insert the RFM features of every known customer as of a date into `target`: from the aggregates (of one
    partition's customers: their per-customer rollups when those describe this date and lookback, else the
    window's invoice-days), or recomputed from every line of the source (`from_lines`, the reference the
    aggregates must equal)."""
    if from_lines and partition != WHOLE:
        raise RecomputeNotPartitioned(partition.index)
    params = {"attempt_id": attempt_id, "as_of": as_of, "lookback_days": lookback_days, **partition.params()}
    if from_lines:
        run_named(cur, "queries/features/tune_feature_aggregation")
        run_composed_named(
            cur,
            "queries/features/compute_rfm_features_from_lines",
            params,
            target=target,
            **source_parts(settings),
        )
    elif rollups.usable(cur, as_of, lookback_days):
        run_composed_named(cur, "queries/features/compute_rfm_features_from_rollups", params, target=target)
    else:
        run_composed_named(cur, "queries/features/compute_rfm_features", params, target=target)


def insert_rfm_features_of(
    cur: Any, lines: sql.Composable, target: sql.Composable, as_of: date, lookback_days: int
) -> None:
    """Insert into `target` the RFM features as of a date of the customers in another table of lines shaped like
    segflow.transactions (a file being scored), with the full recompute's SQL and the staging layer's rules."""
    params = {"attempt_id": 0, "as_of": as_of, "lookback_days": lookback_days}
    run_named(cur, "queries/features/tune_feature_aggregation")
    run_composed_named(
        cur, "queries/features/compute_rfm_features_from_lines", params, target=target, **staged_lines(lines)
    )


def cut_points(db: Database, attempt_id: int) -> dict[str, list[float]]:
    """Quintile cut points of recency, frequency and monetary over a run's active customers."""
    recency, frequency, monetary = db.run("queries/features/rfm_cut_points", {"attempt_id": attempt_id})[0]
    if recency is None:
        raise NobodyActive(attempt_id)
    return {"recency": list(recency), "frequency": list(frequency), "monetary": list(monetary)}


def rfm_scores(frame: pd.DataFrame, cuts: dict[str, list[float]]) -> pd.DataFrame:
    """R, F and M scores 1-5 from quintile cut points (four ascending boundaries each).

    F and M are 1 + the number of boundaries strictly below the value; R is 5 minus that count for
    the days since the last purchase (recent = 5). Strictly below, so that when a fifth of customers
    or more share the lowest value (frequency 1 is common) they all score 1, not a middle score.
    Customers without a value get no score.
    """
    out = pd.DataFrame(index=frame.index)
    for column, cut_name, source, reverse in (
        ("r_score", "recency", "recency_days", True),
        ("f_score", "frequency", "frequency", False),
        ("m_score", "monetary", "monetary", False),
    ):
        values = frame[source].to_numpy(dtype=float)
        below = np.searchsorted(np.asarray(cuts[cut_name], dtype=float), values, side="left")
        score = (5 - below) if reverse else (1 + below)
        # Built from values and a mask: a million rows in milliseconds, where an object array with pd.NA took a second.
        out[column] = pd.arrays.IntegerArray(score.astype("int16"), np.isnan(values))
    return out


def feature_value(name: str) -> sql.Composable:
    """The SQL value of a feature in a customer_features row, as double precision: its column for an RFM feature,
    its key in the row's attributes otherwise."""
    if name in RFM_FEATURES:
        return sql.SQL("{}::double precision").format(sql.Identifier(name))
    # Attribute names are checked against the loaded keys; the key itself is a quoted literal.
    return sql.SQL("(attributes ->> {})::double precision").format(sql.Literal(name))


def _feature_columns(features: FeatureSet) -> tuple[sql.Composable, sql.Composable]:
    """Columns to export (the features, plus R/F/M and return_rate for the names' rules) and the test that every
    feature is there."""
    columns, complete = [], []
    exported = features.names + tuple(
        f for f in NAME_RULE_FEATURES if features.uses_transactions and f not in features.names
    )
    for name in exported:
        expression = feature_value(name)
        columns.append(sql.SQL("{} as {}").format(expression, sql.Identifier(name)))
        if name in features.names:
            complete.append(sql.SQL("{} is not null").format(expression))
    return sql.SQL(", ").join(columns), sql.SQL(" and ").join(complete)


def completeness(features: FeatureSet) -> sql.Composable:
    """The SQL test that a customer_features row has every feature of the set (what scoring exports)."""
    return _feature_columns(features)[1]


def export_features(
    db: Database,
    attempt_id: int,
    features: FeatureSet,
    *,
    chunk_rows: int = 100_000,
    sample: int | None = None,
    seed: int = 0,
    partition: Partition = WHOLE,
) -> Iterator[pd.DataFrame]:
    """A run's complete feature rows (of one partition's customers), COPYed out once and read back in chunks (or
    one deterministic sample of every partition)."""
    columns, complete = _feature_columns(features)
    name = "queries/features/export_features" if sample is None else "queries/features/export_training_sample"
    statement = sql.SQL(read_sql(name)).format(
        columns=columns,
        complete=complete,
        attempt_id=sql.Literal(attempt_id),
        seed=sql.Literal(str(seed)),
        limit=sql.Literal(sample or 0),
        in_partition=partition.predicate(),
    )
    with db.copy_out(statement) as spool:
        dtypes = {"customer_id": str, **dict.fromkeys(features.names + NAME_RULE_FEATURES, "float64")}
        yield from pd.read_csv(spool, dtype=dtypes, chunksize=chunk_rows)


def training_sample(db: Database, attempt_id: int, features: FeatureSet, size: int, seed: int) -> pd.DataFrame:
    """At most `size` complete customers of a run, chosen deterministically by seed."""
    frames = list(export_features(db, attempt_id, features, chunk_rows=max(size, 1), sample=size, seed=seed))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
