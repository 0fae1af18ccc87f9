"""Drift of a published run against a reference: segment shares (exact, from SQL) and features (Evidently).

Two references: 'previous', the published run just before it by as-of date, and 'training', the
champion's training snapshot. A run has drifted when the segment-share PSI reaches
`drift_psi_threshold` or the share of drifted features reaches `drift_share_threshold`.
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
from segflow.segments import RULE_SEGMENTS, segment_key_order
from segflow.settings import Settings

log = logging.getLogger(__name__)

FEATURES = ("recency_days", "frequency", "monetary", "tenure_days", "avg_order_value")
PER_SEGMENT_FEATURES = ("recency_days", "frequency", "monetary")
PER_SEGMENT_MIN_SHARE = 0.10  # per-segment feature drift for segments at least this large
PER_SEGMENT_MIN_ROWS = 30
_EPSILON = 1e-4  # shares of 0 would make PSI infinite


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
    # Evidently's snapshot, for the workspace (segflow.drift_workspace); not stored in the database.
    snapshot: Any = field(default=None, repr=False, compare=False)

    def details(self) -> dict[str, Any]:
        return {
            "segments": self.shares.rows,
            "segment_psi": self.shares.psi,
            "segment_jensen_shannon": self.shares.jensen_shannon,
            "columns": self.columns,
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
            import evidently.metrics  # noqa: F401
            import evidently.presets  # noqa: F401
        except Exception:  # noqa: BLE001 - reported by the drift stage's own import
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


def attempt_sample(db: Database, attempt_id: int, size: int, seed: int, under_model: int | None = None) -> pd.DataFrame:
    """A deterministic sample of an attempt's clustered customers: features and segment (as its own model
    scored them, or as `under_model` re-scored them)."""
    statement = sql.SQL(read_sql("queries/drift/drift_sample")).format(
        attempt_id=sql.Literal(attempt_id),
        under_model=sql.Literal(under_model),
        seed=sql.Literal(str(seed)),
        limit=sql.Literal(size),
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
    rules = {key: name for key, (name, _) in RULE_SEGMENTS.items()}  # e.g. 'lost Lost', not a model's segment
    names = rules | dict(db.run("queries/drift/segment_labels", {"versions": versions}))
    return {key: drift_page.segment_label(key, names.get(key, key)) for key in sorted(keys, key=segment_key_order)}


def _shares(rows: list[tuple]) -> dict[str, float]:
    return {key: float(share) for key, _, share in rows}


def report_path(settings: Settings, run_id: int, reference: str) -> Path:
    """Stable path of a run's drift report against a reference (a rerun overwrites it)."""
    return settings.report_path / "drift" / f"run-{run_id}-vs-{reference}.html"


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
        then_shares = _shares(
            db.run("queries/drift/segment_shares", {"attempt_id": reference_attempt, "under_model": under_model})
        )
        then = attempt_sample(db, reference_attempt, settings.drift_sample, settings.seed, under_model)
    elif reference == "training":
        if reference_version is None:
            return None
        then_shares = _shares(db.run("queries/drift/training_segment_shares", {"version": reference_version}))
        then = training_sample(db, reference_version)
    else:
        raise SegflowError(f"reference must be 'previous' or 'training', got {reference!r}")
    now_shares = _shares(db.run("queries/drift/segment_shares", {"attempt_id": attempt_id, "under_model": None}))
    now = attempt_sample(db, attempt_id, settings.drift_sample, settings.seed)
    if now.empty or then.empty:
        return None
    shares = share_drift(now_shares, then_shares)
    large = [
        k
        for k, share in now_shares.items()
        if share >= PER_SEGMENT_MIN_SHARE
        and (now["segment_key"] == k).sum() >= PER_SEGMENT_MIN_ROWS
        and (then["segment_key"] == k).sum() >= PER_SEGMENT_MIN_ROWS
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
    drifted = shares.psi >= settings.drift_psi_threshold or drift_share >= settings.drift_share_threshold
    reference_text = (
        f"run {reference_run}, as of {reference_as_of} (the published run before this one)"
        if reference == "previous"
        else f"the training snapshot of model v{reference_version} (trained on data as of {model_as_of})"
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
