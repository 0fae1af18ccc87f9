"""Drift of a published run against a reference: segment shares (exact, from SQL) and features (Evidently).

Two references: 'previous', the published run just before it by as-of date, and 'training', the population of
the run the champion was trained in. A run has drifted when the share of inactive customers rose by
`drift_inactive_rise` share points or more (a verdict of its own, named first: "inactive 0.3 % → 59.6 %"), when
the segment-share PSI reaches `drift_psi_threshold`, or when the share of drifted features reaches
`drift_share_threshold`.

Populations: every segment key a customer carries is a population, the rule segments ('inactive': no purchase in
the lookback window; 'unscored') included, and shares are over ALL the run's customers, so they add to 1.
Customers leaving show as inactive growing, never as the clustered segments' shares quietly renormalising.

The training reference counts its run's whole population too. The model's training snapshot holds clustered
customers only, so its shares come from (in this order):
1. the training run's own assignments, when they are still there as this model scored them: exact;
2. else the training run's counts (segflow.run_attempts): inactive = customers_inactive / customers_known, and the
   model's segment shares (model_segments) scaled to the rest, 1 - inactive ('unscored' customers of that run,
   if any, are spread over the segments: the counts do not hold them);
3. a model with no training run on record (trained_in_attempt empty): nothing says how many of its population
   were inactive, so the comparison is over the model's own segments only (this run's customers in them,
   renormalised), the header says so, and no inactive verdict is given against it (the 'previous' reference
   still gives one).

Customers new since the reference (in this run, not among the reference run's customers) are shown as a
population of their own, count and share of now. They do NOT enter PSI as a bucket: they have no share "then" by
definition, and an epsilon there would make every growing business drift every night (5 % new customers alone
would add 0.05 * ln(0.05 / 1e-4) = 0.31 to PSI). They are counted where they land, in the segments of now, so a
wave of new customers that changes the segment mix (all one-time buyers) still moves PSI.
"""

from __future__ import annotations

import html
import json
import logging
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from psycopg2 import sql

from segflow import drift_page, drift_workspace
from segflow.db import Database, read_sql
from segflow.errors import SegflowError
from segflow.segments import INACTIVE, RULE_SEGMENTS, segment_key_order
from segflow.settings import Settings


@dataclass(eq=False)
class DriftInputInvalid(SegflowError):
    """A drift computation given a value outside its rule (a caller's mistake, named with the value)."""

    rule: str
    name: str  # the argument's name when the sentence shows name=value, else ""
    value: object
    quoted: bool = False

    def __str__(self) -> str:
        shown = f"{self.name}={self.value}" if self.name else (repr(self.value) if self.quoted else str(self.value))
        return f"{self.rule}, got {shown}"


@dataclass(eq=False)
class SegmentSharesInvalid(SegflowError):
    """A model's segment shares that do not add to a positive total."""

    template = "the model's segment shares add to {total}, not a distribution"
    total: float


log = logging.getLogger(__name__)

FEATURES = ("recency_days", "frequency", "monetary", "tenure_days", "avg_order_value")
PER_SEGMENT_FEATURES = ("recency_days", "frequency", "monetary")
PER_SEGMENT_MIN_SHARE = 0.10  # per-segment feature drift for segments at least this large
PER_SEGMENT_MIN_ROWS = 30
_EPSILON = 1e-4  # shares of 0 would make PSI infinite
INACTIVE_KEY = INACTIVE[0]


@dataclass
class ShareDrift:
    """Segment shares now and in the reference, with PSI per segment and in all."""

    rows: list[dict[str, Any]]
    psi: float
    jensen_shannon: float


def share_drift(current: dict[str, float], reference: dict[str, float]) -> ShareDrift:
    """PSI (sum of (now - then) * ln(now / then)) and Jensen-Shannon distance over segment shares."""
    keys = sorted(set(current) | set(reference), key=segment_key_order)
    rows, psi = [], 0.0
    for key in keys:
        now, then = max(current.get(key, 0.0), _EPSILON), max(reference.get(key, 0.0), _EPSILON)
        term = (now - then) * math.log(now / then)
        psi += term
        rows.append(
            {
                "segment_key": key,
                "share_now": current.get(key, 0.0),
                "share_then": reference.get(key, 0.0),
                "psi": round(term, 6),
            }
        )
    p = [current.get(k, 0.0) for k in keys]
    q = [reference.get(k, 0.0) for k in keys]
    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]

    def kl(x: list[float], y: list[float]) -> float:
        return sum(a * math.log2(a / b) for a, b in zip(x, y, strict=True) if a > 0)

    js = math.sqrt(max(0.0, (kl(p, m) + kl(q, m)) / 2))
    return ShareDrift(rows=rows, psi=round(psi, 6), jensen_shannon=round(js, 6))


def percent(share: float) -> str:
    """'59.6 %': a share of all customers as the verdicts write it."""
    return f"{share * 100:.1f} %"


@dataclass(frozen=True)
class InactiveShift:
    """The share of all customers who are inactive, in the reference and now; a rise of `threshold_points` share
    points or more is a drift verdict of its own."""

    share_then: float
    share_now: float
    threshold_points: float

    @property
    def rise_points(self) -> float:
        return round((self.share_now - self.share_then) * 100, 9)  # no float noise at the threshold

    @property
    def risen(self) -> bool:
        return self.rise_points >= self.threshold_points

    def text(self) -> str:
        """'inactive 0.3 % → 59.6 %'."""
        return f"{INACTIVE_KEY} {percent(self.share_then)} → {percent(self.share_now)}"


def inactive_shift(now: dict[str, float], then: dict[str, float], threshold_points: float) -> InactiveShift:
    """The inactive share now and then (0 where a side has no inactive customer)."""
    return InactiveShift(then.get(INACTIVE_KEY, 0.0), now.get(INACTIVE_KEY, 0.0), threshold_points)


def scaled_training_shares(model_shares: dict[str, float], known: int, inactive: int) -> dict[str, float]:
    """A training run's shares of ALL its customers from the model's shares of its clustered ones: inactive is
    inactive / known, the model's segments share the rest in their own proportions."""
    if known <= 0:
        raise DriftInputInvalid("a training run needs customers to scale shares to", "customers_known", known)
    if not 0 <= inactive <= known:
        raise DriftInputInvalid(f"customers_inactive must be between 0 and customers_known={known}", "", inactive)
    total = sum(model_shares.values())
    if total <= 0:
        raise SegmentSharesInvalid(total)
    active = (known - inactive) / known
    shares = {key: share / total * active for key, share in model_shares.items()}
    if inactive:
        shares[INACTIVE_KEY] = inactive / known
    return shares


def over_keys(shares: dict[str, float], keys: set[str]) -> dict[str, float]:
    """The shares of the given keys only, renormalised to add to 1 (empty when none of them has customers)."""
    kept = {k: v for k, v in shares.items() if k in keys}
    total = sum(kept.values())
    return {k: v / total for k, v in kept.items()} if total > 0 else {}


@dataclass(frozen=True)
class Populations:
    """Customer counts behind the shares: all customers now and in the reference, and how many of now's were not
    customers of the reference run (None when that run's rows are gone or there is none)."""

    customers_now: int
    customers_then: int | None
    new_since_reference: int | None

    @property
    def new_share(self) -> float | None:
        if self.new_since_reference is None or self.customers_now == 0:
            return None
        return self.new_since_reference / self.customers_now

    def new_cell(self) -> str:
        """'600 (6.7 % of now)', empty when not known."""
        share = self.new_share
        if self.new_since_reference is None or share is None:
            return ""
        return f"{self.new_since_reference:,} ({percent(share)} of now)"

    def new_text(self) -> str:
        """'600 new since the reference (6.7 % of now)', or why it is not known."""
        if self.new_since_reference is None or self.new_share is None:
            return "new since the reference: not known (the reference run's customers are not kept)"
        return f"{self.new_since_reference:,} new since the reference ({percent(self.new_share)} of now)"


@dataclass
class DriftResult:
    reference: str
    dataset_drift: bool
    drift_share: float
    shares: ShareDrift
    columns: list[dict[str, Any]] = field(default_factory=list)
    html_path: Path | None = None
    reference_run: int | None = None
    reference_model_version: int | None = None
    compared_under_model: int | None = None
    # The model version of the run's assignments when the report was built (a report built before a
    # retraining no longer describes the run).
    scored_with: int | None = None
    # The inactive share then and now (None when the reference cannot say: a model with no training run).
    inactive: InactiveShift | None = None
    populations: Populations | None = None
    # How the reference's shares were counted (segflow.drift's docstring: training run, its counts, model only).
    reference_basis: str = ""
    # Evidently's snapshot, for the workspace (segflow.drift_workspace); not stored in the database.
    snapshot: Any = field(default=None, repr=False, compare=False)

    @property
    def inactive_risen(self) -> bool:
        return self.inactive is not None and self.inactive.risen

    def verdict_text(self) -> str:
        """'inactive 0.0 % → 33.3 %, segment PSI 0.462, 0% of features drifted': the inactive rise first when it
        is a verdict, then the figures every verdict reports."""
        figures = f"segment PSI {self.shares.psi:.3f}, {self.drift_share:.0%} of features drifted"
        return f"{self.inactive.text()}, {figures}" if self.inactive is not None and self.inactive.risen else figures

    def details(self) -> dict[str, Any]:
        inactive = self.inactive
        populations = self.populations
        return {
            "segments": self.shares.rows,
            "segment_psi": self.shares.psi,
            "segment_jensen_shannon": self.shares.jensen_shannon,
            "columns": self.columns,
            "inactive": None
            if inactive is None
            else {
                "share_then": inactive.share_then,
                "share_now": inactive.share_now,
                "rise_points": inactive.rise_points,
                "threshold_points": inactive.threshold_points,
                "risen": inactive.risen,
                "text": inactive.text(),
            },
            "customers_now": None if populations is None else populations.customers_now,
            "customers_then": None if populations is None else populations.customers_then,
            "new_since_reference": None if populations is None else populations.new_since_reference,
            "reference_basis": self.reference_basis,
            "verdict": self.verdict_text(),
        }


def import_evidently_in_background() -> threading.Thread:
    """Start importing Evidently on a daemon thread and return the thread.

    Importing Evidently is about 5 s of Python, paid by every night's first drift report. Started when the night
    starts, the import overlaps the stages that mostly wait on PostgreSQL; the drift stage's own import then
    finds the modules loaded, or waits on Python's import lock for the rest. A failed import here is only
    logged: the drift stage imports again and raises there.
    """

    def load() -> None:
        try:
            import evidently.metrics
            import evidently.presets  # noqa: F401
        except Exception:  # reported by the drift stage's own import
            log.debug("importing Evidently in the background failed", exc_info=True)

    thread = threading.Thread(target=load, name="segflow-import-evidently", daemon=True)
    thread.start()
    return thread


def with_segment_columns(frame: pd.DataFrame, segments: list[str]) -> pd.DataFrame:
    """Add '<segment>__<feature>' columns, the feature where the customer is in that segment, else empty."""
    out = frame.copy()
    for segment in segments:
        inside = out["segment_key"] == segment
        for feature in PER_SEGMENT_FEATURES:
            out[f"{segment}__{feature}"] = out[feature].where(inside)
    return out


def readable_frame(
    frame: pd.DataFrame, features: list[str], segments: list[str], labels: dict[str, str]
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The frame Evidently gets: columns named for a reader ('recency (days)', 'S2 Loyal: recency (days)'),
    segment keys as labels ('S2 Loyal'); and the machine name of each readable column name."""
    out = with_segment_columns(frame, segments)
    machine = {drift_page.feature_label(f): f for f in features}
    machine |= {
        drift_page.segment_column_label(labels.get(s, s), f): f"{s}__{f}"
        for s in segments
        for f in PER_SEGMENT_FEATURES
        if f in features
    }
    machine[drift_page.SEGMENT_COLUMN] = "segment_key"
    out[drift_page.SEGMENT_COLUMN] = out["segment_key"].map(lambda k: labels.get(k, k))
    out = out.rename(columns={name: readable for readable, name in machine.items() if name != "segment_key"})
    return out[["customer_id", *machine]], machine


def evidently_report(
    current: pd.DataFrame,
    reference: pd.DataFrame,
    segments: list[str],
    html_path: Path,
    labels: dict[str, str] | None = None,
    stamp: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], Any]:
    """Run the Evidently report and save its HTML; each drift column's score, method and threshold (by machine
    name: 'segment_key', 'recency_days', 'S2__recency_days'), and the snapshot.

    labels: segment key -> 'S2 Loyal', the names the page shows (keys alone without them). stamp: Report.run's
    timestamp, tags, metadata and name for the workspace (segflow.drift_workspace.snapshot_stamp).
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import UniqueValueCount, ValueDrift
    from evidently.presets import DataDriftPreset

    labels = labels or {}
    # Evidently refuses a drift column that is empty on either side (attribute-only models have no RFM).
    features = [f for f in FEATURES if current[f].notna().any() and reference[f].notna().any()]
    now, machine = readable_frame(current, features, segments, labels)
    then, _ = readable_frame(reference, features, segments, labels)
    readable_features = [drift_page.feature_label(f) for f in features]
    segment_columns = [c for c in machine if c not in readable_features and c != drift_page.SEGMENT_COLUMN]
    definition = DataDefinition(
        id_column="customer_id",
        numerical_columns=readable_features + segment_columns,
        categorical_columns=[drift_page.SEGMENT_COLUMN],
    )
    report = Report(
        [
            ValueDrift(column=drift_page.SEGMENT_COLUMN, method="psi"),
            ValueDrift(column=drift_page.SEGMENT_COLUMN, method="jensenshannon"),
            # Segment shares of the sample, for the workspace dashboard's shares over nights.
            UniqueValueCount(column=drift_page.SEGMENT_COLUMN),
            *([DataDriftPreset(columns=readable_features)] if readable_features else []),
            *[ValueDrift(column=c) for c in segment_columns],
        ]
    )
    snapshot = report.run(
        current_data=Dataset.from_pandas(now, data_definition=definition),
        reference_data=Dataset.from_pandas(then, data_definition=definition),
        **(stamp or {}),
    )
    drift_page.make_readable(snapshot)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    snapshot.save_html(str(html_path))  # a pathlib.Path silently writes nothing in evidently 0.7
    columns = []
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if not config.get("type", "").endswith(":ValueDrift"):
            continue
        score = float(metric["value"])
        threshold = float(config.get("threshold") or 0.0)
        method = config.get("method") or ""
        # p-value tests drift when the value is below the threshold, distances when at or above it.
        drifted = score < threshold if "p_value" in method or "test" in method.lower() else score >= threshold
        columns.append(
            {
                "column": machine.get(config["column"], config["column"]),
                "method": method,
                "threshold": threshold,
                "score": round(score, 6),
                "drifted": drifted,
            }
        )
    return columns, snapshot


def _copy_frame(db: Database, statement: sql.Composed) -> pd.DataFrame:
    with db.copy_out(statement) as spool:
        return pd.read_csv(spool, dtype={"customer_id": str, "segment_key": str})


def attempt_sample(
    db: Database, attempt_id: int, size: int, seed: int, under_model: int | None = None, everyone: bool = True
) -> pd.DataFrame:
    """A deterministic sample of an attempt's customers, all of them (inactive and other rule segments too) or,
    with everyone=False, the clustered ones: features and segment (as its own model scored them, or as
    `under_model` re-scored them)."""
    statement = sql.SQL(read_sql("queries/drift/drift_sample")).format(
        attempt_id=sql.Literal(attempt_id),
        under_model=sql.Literal(under_model),
        seed=sql.Literal(str(seed)),
        limit=sql.Literal(size),
        everyone=sql.Literal(everyone),
    )
    return _copy_frame(db, statement)


def training_sample(db: Database, version: int) -> pd.DataFrame:
    return _copy_frame(
        db, sql.SQL(read_sql("queries/drift/training_snapshot_sample")).format(version=sql.Literal(version))
    )


def reports_for_run(db: Database, run_id: int | None = None) -> list[tuple]:
    """The stored drift reports of a run (default: the run BI reads now): run_id, as_of, reference,
    reference_run, reference_model_version, dataset_drift, drift_share, segment_psi, segment_js, html_path,
    details, compared_under_model."""
    return db.run("queries/drift/drift_reports_for_run", {"run_id": run_id})


def scored_with(db: Database, attempt_id: int) -> int | None:
    """The model version an attempt's assignments come from (None before scoring)."""
    rows = db.run("queries/drift/attempt_scored_with", {"attempt_id": attempt_id})
    return rows[0][0] if rows else None


def staged_path(settings: Settings, run_id: int, reference: str, attempt_id: int) -> Path:
    """Where a report built before publishing waits (the published run's report stays in place until then)."""
    return settings.report_path / "drift" / f"run-{run_id}-vs-{reference}.attempt-{attempt_id}.html"


def segment_labels(db: Database, versions: list[int], keys: list[str]) -> dict[str, str]:
    """'S2 Loyal' per segment key (in key order), named by the newest of the model versions compared."""
    rules = {key: name for key, (name, _) in RULE_SEGMENTS.items()}  # e.g. 'lost' is 'Lost': not a model's segment
    names = rules | dict(db.run("queries/drift/segment_labels", {"versions": versions}))
    return {key: drift_page.segment_label(key, names.get(key, key)) for key in sorted(keys, key=segment_key_order)}


def _shares(rows: list[tuple]) -> dict[str, float]:
    return {key: float(share) for key, _, share in rows}


def report_path(settings: Settings, run_id: int, reference: str) -> Path:
    """Stable path of a run's drift report against a reference (a rerun overwrites it)."""
    return settings.report_path / "drift" / f"run-{run_id}-vs-{reference}.html"


@dataclass(frozen=True)
class _Reference:
    """What a run is compared with: shares of every population, customers counted, the sample for Evidently, the
    attempt whose customers were there 'then' (for new since the reference) and how its shares were counted."""

    shares: dict[str, float]
    customers: int | None
    sample: pd.DataFrame
    customers_of: int | None
    basis: str
    model_only: bool = False  # over the model's own segments only (a model with no training run on record)


def with_inactive_rows(sample: pd.DataFrame, inactive_share: float) -> pd.DataFrame:
    """A training snapshot (clustered customers only) with inactive rows added so that they make `inactive_share`
    of the frame: they carry the segment only, as inactive customers of any run's drift sample do."""
    if not 0 <= inactive_share < 1:
        raise DriftInputInvalid("an inactive share must be in [0, 1) to pad a sample", "", inactive_share)
    count = round(len(sample) * inactive_share / (1 - inactive_share))
    if count == 0:
        return sample
    rows = pd.DataFrame({"customer_id": [f"{INACTIVE_KEY}-{i}" for i in range(count)], "segment_key": INACTIVE_KEY})
    return pd.concat([sample, rows], ignore_index=True)


def _counted(db: Database, attempt_id: int, under_model: int | None = None) -> tuple[dict[str, float], int]:
    rows = db.run("queries/drift/segment_shares", {"attempt_id": attempt_id, "under_model": under_model})
    return _shares(rows), sum(int(customers) for _, customers, _ in rows)


def _training_reference(db: Database, settings: Settings, version: int) -> _Reference:
    """The population model `version` was trained on, every customer counted (the module docstring's order)."""
    found = db.run("queries/drift/training_run_population", {"version": version})
    if found:
        attempt, run, as_of, known, inactive, scored = found[0]
        if scored:
            shares, customers = _counted(db, attempt)
            return _Reference(
                shares,
                customers,
                attempt_sample(db, attempt, settings.drift_sample, settings.seed),
                attempt,
                f"all {customers:,} customers of run {run} (as of {as_of}), the run it was trained in",
            )
        if known:
            shares = scaled_training_shares(
                _shares(db.run("queries/drift/training_segment_shares", {"version": version})), known, inactive or 0
            )
            return _Reference(
                shares,
                known,
                with_inactive_rows(training_sample(db, version), shares.get(INACTIVE_KEY, 0.0)),
                attempt,
                f"the {known:,} customers of run {run} (as of {as_of}), the run it was trained in: "
                f"{inactive or 0:,} inactive, the model's segment shares scaled to the rest",
            )
    return _Reference(
        _shares(db.run("queries/drift/training_segment_shares", {"version": version})),
        None,
        training_sample(db, version),
        None,
        f"model v{version} has no training run on record: compared over its own segments only (this run's "
        "customers in them); inactive is not compared against it",
        model_only=True,
    )


def new_since(db: Database, attempt_id: int, reference_attempt: int | None) -> int | None:
    """Customers of an attempt who were not customers of the reference attempt (None when that is not known)."""
    if reference_attempt is None:
        return None
    (count,) = db.run(
        "queries/drift/new_since_reference", {"attempt_id": attempt_id, "reference_attempt": reference_attempt}
    )[0]
    return None if count is None else int(count)


def _measured(frame: pd.DataFrame, key: str) -> int:
    """Rows of a segment with every per-segment feature (inactive customers have none)."""
    inside = frame[frame["segment_key"] == key]
    return int(inside[list(PER_SEGMENT_FEATURES)].notna().all(axis=1).sum()) if not inside.empty else 0


def build_report(
    db: Database,
    settings: Settings,
    attempt_id: int,
    run_id: int,
    reference: str,
    reference_attempt: int | None,
    reference_run: int | None,
    reference_version: int | None,
    under_model: int | None = None,
    html_path: Path | None = None,
) -> DriftResult | None:
    """One drift report (HTML and result) of an attempt against one reference; None without a reference.

    under_model: the previous run's customers as this model version re-scored them (segflow.comparison),
    when the previous run was scored by another model. html_path: where to write the HTML (default: the
    run's stable report path).
    """
    if reference == "previous":
        if reference_attempt is None:
            return None
        then_shares, then_customers = _counted(db, reference_attempt, under_model)
        ref = _Reference(
            then_shares,
            then_customers,
            attempt_sample(db, reference_attempt, settings.drift_sample, settings.seed, under_model),
            reference_attempt,
            "",
        )
    elif reference == "training":
        if reference_version is None:
            return None
        ref = _training_reference(db, settings, reference_version)
    else:
        raise DriftInputInvalid("reference must be 'previous' or 'training'", "", reference, quoted=True)
    all_now, customers_now = _counted(db, attempt_id)
    now = attempt_sample(db, attempt_id, settings.drift_sample, settings.seed)
    now_shares = all_now
    if ref.model_only:
        now_shares = over_keys(all_now, set(ref.shares))
        now = now[now["segment_key"].isin(set(ref.shares))]
    then = ref.sample
    if now.empty or then.empty:
        return None
    shares = share_drift(now_shares, ref.shares)
    inactive = None if ref.model_only else inactive_shift(now_shares, ref.shares, settings.drift_inactive_rise)
    populations = Populations(customers_now, ref.customers, new_since(db, attempt_id, ref.customers_of))
    large = [
        k
        for k, share in now_shares.items()
        if share >= PER_SEGMENT_MIN_SHARE
        and _measured(now, k) >= PER_SEGMENT_MIN_ROWS
        and _measured(then, k) >= PER_SEGMENT_MIN_ROWS
    ]
    path = html_path or report_path(settings, run_id, reference)
    version = scored_with(db, attempt_id)
    versions = [v for v in (version, reference_version, under_model) if v is not None]
    labels = segment_labels(db, versions, [r["segment_key"] for r in shares.rows])
    as_of, reference_as_of, model_as_of = db.run(
        "queries/drift/drift_header_dates",
        {"attempt_id": attempt_id, "reference_attempt": reference_attempt, "reference_version": reference_version},
    )[0]
    stamp = drift_workspace.snapshot_stamp(run_id, as_of, reference)
    columns, snapshot = evidently_report(now, then, large, path, labels, stamp)
    overall = [c for c in columns if c["column"] in FEATURES]
    drift_share = sum(c["drifted"] for c in overall) / len(overall) if overall else 0.0
    drifted = (
        (inactive is not None and inactive.risen)
        or shares.psi >= settings.drift_psi_threshold
        or drift_share >= settings.drift_share_threshold
    )
    reference_text = (
        f"run {reference_run}, as of {reference_as_of} (the published run before this one)"
        if reference == "previous"
        else f"the training data of model v{reference_version} (trained on data as of {model_as_of}): {ref.basis}"
    )
    header = drift_page.DriftHeader(
        run_id=run_id,
        as_of=str(as_of),
        model_version=version,
        reference=reference,
        reference_text=reference_text,
        drifted=drifted,
        psi=shares.psi,
        psi_threshold=settings.drift_psi_threshold,
        drifted_features=[c["column"] for c in overall if c["drifted"]],
        features=[c["column"] for c in overall],
        drift_share=drift_share,
        share_threshold=settings.drift_share_threshold,
        shares=[
            drift_page.SegmentShare(labels[r["segment_key"]], r["share_then"], r["share_now"], r["psi"])
            for r in shares.rows
        ],
        means=drift_page.segment_means(now, then, [c["column"] for c in overall], labels),
        under_model=under_model,
        inactive=None
        if inactive is None
        else drift_page.InactiveVerdict(inactive.text(), inactive.rise_points, inactive.threshold_points),
        customers_now=customers_now,
        customers_then=ref.customers,
        new_since_reference=populations.new_text() if ref.customers_of is not None else None,
        model_only=ref.model_only,
    )
    path.write_text(drift_page.with_header(path.read_text(encoding="utf-8"), header), encoding="utf-8")
    return DriftResult(
        reference=reference,
        dataset_drift=drifted,
        drift_share=round(drift_share, 4),
        shares=shares,
        columns=columns,
        html_path=path,
        reference_run=reference_run,
        reference_model_version=reference_version,
        compared_under_model=under_model,
        scored_with=version,
        inactive=inactive,
        populations=populations,
        reference_basis=ref.basis,
        snapshot=snapshot,
    )


def store(db: Database, run_id: int, attempt_id: int, result: DriftResult) -> None:
    db.run(
        "queries/drift/upsert_drift_report",
        {
            "run_id": run_id,
            "reference": result.reference,
            "attempt_id": attempt_id,
            "reference_run": result.reference_run,
            "reference_model_version": result.reference_model_version,
            "dataset_drift": result.dataset_drift,
            "drift_share": result.drift_share,
            "segment_psi": result.shares.psi,
            "segment_js": result.shares.jensen_shannon,
            "html_path": str(result.html_path),
            "details": json.dumps(result.details()),
            "compared_under_model": result.compared_under_model,
        },
    )


def transitions_html(
    rows: list[tuple], run_id: int, as_of: str, note: str = "", renames: list[tuple] | None = None
) -> str:
    """A self-contained page: the matrix of customers moving between segments into a run, in key order.

    rows: (from_run, to_run, from_key, from_name, to_key, to_name, customers, compared_under_model).
    note: why there is no earlier run to compare with, when rows is empty.
    renames: (key, inherited name, new name) of the run's model's segments that no longer fitted their inherited
    name, when the model changed between the runs.
    """

    def label(key: str, name: str) -> str:
        return html.escape(key if key == name else f"{key} {name}")

    froms = sorted({(r[2], r[3]) for r in rows}, key=lambda item: segment_key_order(item[0]))
    tos = sorted({(r[4], r[5]) for r in rows}, key=lambda item: segment_key_order(item[0]))
    counts = {(r[2], r[4]): r[6] for r in rows}
    from_run = rows[0][0] if rows else None
    under_model = rows[0][7] if rows else None
    head = "".join(f"<th>{label(k, n)}</th>" for k, n in tos)
    body = []
    for key, name in froms:
        total = sum(counts.get((key, t), 0) for t, _ in tos) or 1
        cells = []
        for to_key, _ in tos:
            count = counts.get((key, to_key), 0)
            alpha = round(0.85 * count / total, 3)
            cells.append(f'<td style="background: rgba(200, 30, 30, {alpha})">{count:,}</td>')
        body.append(f"<tr><th>{label(key, name)}</th>{''.join(cells)}<td>{total:,}</td></tr>")
    title = f"Segment transitions into run {run_id} (as of {html.escape(as_of)})"
    if rows:
        intro = (
            f"Customers per segment in run {from_run} (rows) and in run {run_id} (columns); shading is the "
            "share of the row. 'new_customer' had no row in the earlier run."
        )
        if under_model is not None:
            intro += (
                f" The model changed between the runs: run {from_run}'s customers are shown as model "
                f"v{under_model} (this run's) scores them, so every move is a customer's own."
            )
    else:
        intro = html.escape(note or "No earlier published run: nothing to compare with.")
    if renames:
        renamed = "; ".join(f"{key} {old!r} is now {new!r}" for key, old, new in renames)
        intro += html.escape(
            f" Renamed by model v{under_model}, because its customers no longer fit the inherited name: {renamed}."
        )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body {{ font-family: sans-serif; margin: 2em; }} table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: 6px 10px; text-align: right; }} th {{ background: #f4f4f4; }}</style>
</head><body><h1>{title}</h1><p>{intro}</p>
<table><tr><th>from \\ to</th>{head}<th>total</th></tr>{"".join(body)}</table></body></html>
"""


def transitions_path(settings: Settings, run_id: int) -> Path:
    """Stable path of the transitions page of a run (beside its drift reports)."""
    return settings.report_path / "drift" / f"run-{run_id}-transitions.html"
