"""The nightly segmentation run, stage by stage. Each stage is one function the Prefect flow calls as
a task, and that tests call directly: begin → check source → features → train (if needed) → score →
publish. Stages record their seconds in the run's row; a failure marks the run failed and leaves the
published segments as they were.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from segflow import drift, registry
from segflow import features as feature_store
from segflow.db import Database, copy_in, run_named
from segflow.errors import DatabaseUnreachable, SegflowError
from segflow.model import SegmentModel, select_model
from segflow.segments import (
    INACTIVE,
    UNSCORED,
    match_to_previous,
    name_by_features,
    name_segments,
    order_labels,
    profile,
)
from segflow.settings import DEFAULT_SOURCE, Settings

log = logging.getLogger(__name__)

RETRAIN_MODES = ("auto", "always", "never")


@dataclass(frozen=True)
class RunInfo:
    attempt_id: int
    as_of: date
    status: str
    retrain_mode: str
    features: list[str]
    lookback_days: int
    window_start: date
    model_version: int | None
    rfm_cut_points: dict | None


def run_summary(db: Database, attempt_id: int) -> dict:
    """as_of, model_version, retrained, customers_known, retrain_reason and run_id of an attempt."""
    columns = ("as_of", "model_version", "retrained", "customers_known", "retrain_reason", "run_id")
    return dict(zip(columns, db.run("queries/run_summary", {"attempt_id": attempt_id})[0], strict=True))


def run_info(db: Database, attempt_id: int) -> RunInfo:
    rows = db.run("queries/run_details", {"attempt_id": attempt_id})
    if not rows:
        raise SegflowError(f"run attempt {attempt_id} does not exist")
    return RunInfo(*rows[0])


@contextmanager
def _stage(db: Database, attempt_id: int, stage: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    db.run("queries/record_stage_seconds",
           {"attempt_id": attempt_id, "stage": stage, "seconds": time.perf_counter() - started})


def begin_run(db: Database, settings: Settings, as_of: date, retrain: str = "auto",
              features: list[str] | None = None) -> int:
    """Validate the request and start an attempt at the as-of date's run (status 'running'); returns attempt_id."""
    feature_set = _requested_features(db, settings, retrain, features)
    if retrain == "never" and registry.champion(db) is None:
        raise SegflowError("retrain='never' but there is no champion model yet; run with retrain='auto' first")
    rows = db.run("queries/insert_run", {"as_of": as_of, "retrain_mode": retrain,
                                         "features": list(feature_set.names),
                                         "lookback_days": settings.lookback_days,
                                         "source_table": settings.source_table})
    return rows[0][0]


def preflight(db: Database, settings: Settings, retrain: str = "auto", features: list[str] | None = None) -> None:
    """Refuse, before any run starts, a request that cannot succeed: retrain mode, features, source table."""
    if _requested_features(db, settings, retrain, features).uses_transactions:
        feature_store.check_source_table(db)


def _requested_features(db: Database, settings: Settings, retrain: str,
                        features: list[str] | None) -> feature_store.FeatureSet:
    if retrain not in RETRAIN_MODES:
        raise SegflowError(f"--retrain must be one of {', '.join(RETRAIN_MODES)}, got {retrain!r}")
    return feature_store.resolve_features(db, features or settings.features)


def check_source(db: Database, attempt_id: int) -> dict[str, int]:
    """Count the lines each data-quality rule excludes and store them in the run's row."""
    info = run_info(db, attempt_id)
    with _stage(db, attempt_id, "check_source"):
        if not feature_store.FeatureSet(tuple(info.features)).uses_transactions:
            return {}
        feature_store.check_source_table(db)
        counts = feature_store.data_quality_counts(db, info.as_of)
        db.run("queries/record_data_quality", {"attempt_id": attempt_id, **counts})
        if counts["purchase_lines"] == 0:
            first, last = feature_store.source_date_range(db)
            if first is not None:
                hint = f"its lines run from {first:%Y-%m-%d} to {last:%Y-%m-%d}: pick an as-of date in between"
            elif db.settings.source_table == DEFAULT_SOURCE:
                hint = "load data first (segflow load / segflow generate)"
            else:
                hint = "check SEGFLOW_SOURCE_TABLE"
            raise SegflowError(f"no purchase lines up to {info.as_of} in {db.settings.source_table} "
                               f"({counts['lines_total']:,} lines in all); {hint}")
    return counts


def build_features(db: Database, attempt_id: int) -> dict[str, int]:
    """Compute the run's features in the database and its own R/F/M cut points."""
    info = run_info(db, attempt_id)
    feature_set = feature_store.FeatureSet(tuple(info.features))
    with _stage(db, attempt_id, "features"):
        feature_store.compute_features(db, attempt_id, info.as_of, info.lookback_days, feature_set)
        cuts = feature_store.cut_points(db, attempt_id) if feature_set.uses_transactions else {}
        db.run("queries/record_population", {"attempt_id": attempt_id, "rfm_cut_points": json.dumps(cuts),
                                             "uses_transactions": feature_set.uses_transactions})
    rows = db.run("queries/run_population", {"attempt_id": attempt_id})[0]
    return {"known": rows[0], "active": rows[1]}


@dataclass(frozen=True)
class TrainingDecision:
    """Whether a run trains, whether the new model must beat the champion first, and why."""

    train: bool
    gated: bool
    reasons: tuple[str, ...]


def training_decision(db: Database, settings: Settings, attempt_id: int) -> TrainingDecision:
    """Retrain when there is no champion, when asked, when the champion is too old or uses other
    features, or when the run drifted from the champion's training data or from the previous run.

    Checking drift scores the run with the champion first (kept when nothing changes).
    """
    info = run_info(db, attempt_id)
    current = registry.champion(db)
    if current is None:
        if info.retrain_mode == "never":
            raise SegflowError("retrain='never' but there is no champion model")
        return TrainingDecision(True, False, ("no champion model yet",))
    if info.retrain_mode == "never":
        return TrainingDecision(False, False, (f"retrain='never': champion v{current} kept",))
    champion = registry.details(db, current)
    if list(champion["features"]) != list(info.features):
        return TrainingDecision(True, False, (f"champion v{current} uses features {champion['features']}, "
                                              f"this run {info.features}",))
    reasons = []
    if info.retrain_mode == "always":
        reasons.append("retraining was requested")
    age = (info.as_of - date.fromisoformat(str(champion["as_of"]))).days
    if age > settings.max_age_days:
        reasons.append(f"champion v{current} was trained {age} days before this run (max {settings.max_age_days})")
    if not reasons:
        reasons.extend(_drift_reasons(db, settings, attempt_id, current))
    if reasons:
        return TrainingDecision(True, True, tuple(reasons))
    return TrainingDecision(False, False, (f"champion v{current} is current: {age} days old, no drift",))


def _drift_reasons(db: Database, settings: Settings, attempt_id: int, champion: int) -> list[str]:
    """Score the run with the champion and return why it drifted (empty when it did not)."""
    _record_decision(db, attempt_id, False, None, champion)
    score(db, settings, attempt_id)
    previous = db.run("queries/previous_published_attempt", {"attempt_id": attempt_id})
    prev_run, prev_attempt = previous[0] if previous else (None, None)
    run_id = run_summary(db, attempt_id)["run_id"]
    reasons = []
    for reference in ("training", "previous"):
        result = drift.build_report(db, settings, attempt_id, run_id, reference, prev_attempt, prev_run, champion)
        if result is not None and result.dataset_drift:
            reasons.append(f"drift against {reference}: segment PSI {result.shares.psi:.3f}, "
                           f"{result.drift_share:.0%} of features drifted")
    return reasons


def _record_decision(db: Database, attempt_id: int, retrained: bool, reason: str | None, version: int | None) -> None:
    db.run("queries/record_training_decision",
           {"attempt_id": attempt_id, "retrained": retrained, "retrain_reason": reason, "model_version": version})


def challenger_wins(champion: SegmentModel, challenger: SegmentModel, sample: pd.DataFrame,
                    margin: float, size: int) -> tuple[bool, float, float]:
    """(promote?, challenger silhouette, champion silhouette) on the same current customers."""
    from sklearn.metrics import silhouette_score

    head = sample.head(size)
    scores = []
    for model in (challenger, champion):
        labels, _, _ = model.assign(head)
        z = model.to_model_space(head)
        scores.append(float(silhouette_score(z, labels)) if len(set(labels)) > 1 else -1.0)
    return scores[0] >= scores[1] - margin, round(scores[0], 4), round(scores[1], 4)


def train_if_needed(db: Database, settings: Settings, attempt_id: int) -> int:
    """Decide whether to retrain; train, register and (if it passes the gate) promote; returns the version used."""
    decision = training_decision(db, settings, attempt_id)
    reason = "; ".join(decision.reasons)
    if not decision.train:
        version = registry.champion(db)
        _record_decision(db, attempt_id, False, reason, version)
        return version
    info = run_info(db, attempt_id)
    feature_set = feature_store.FeatureSet(tuple(info.features))
    with _stage(db, attempt_id, "train"):
        cuts = info.rfm_cut_points or {}
        sample = feature_store.training_sample(db, attempt_id, feature_set, settings.max_train_customers, settings.seed)
        if cuts:
            sample = sample.join(feature_store.rfm_scores(sample, cuts))
        selection = select_model(
            sample, list(feature_set.names), min_clusters=settings.min_clusters,
            max_clusters=settings.max_clusters, min_share=settings.min_segment_share,
            silhouette_sample=settings.silhouette_sample, seed=settings.seed,
        )
        previous = _previous_segments(db)
        segments, labels = describe_segments(selection.model, sample, previous)
        context = registry.TrainingContext(
            as_of=info.as_of, train_window_start=info.window_start if feature_set.uses_transactions else None,
            train_window_end=info.as_of, sample_size=len(sample), seed=settings.seed, rfm_cut_points=cuts,
            trained_in_attempt=attempt_id,
        )
        snapshot = sample.head(settings.drift_sample).assign(
            segment_key=pd.Series(selection.model.segment_keys).to_numpy()[labels[:settings.drift_sample]])
        version = registry.register(db, settings.model_path, selection, segments, context, snapshot)
        promote = True
        if decision.gated and previous is not None:
            promote, theirs, ours = challenger_wins(previous.model, selection.model, sample,
                                                    settings.challenger_margin, settings.silhouette_sample)
            verdict = "promoted" if promote else "not promoted"
            reason += (f"; challenger v{version} {verdict}: silhouette {theirs} vs champion {ours} "
                       f"(margin {settings.challenger_margin})")
        if promote:
            registry.promote(db, version)
    used = version if promote else registry.champion(db)
    _record_decision(db, attempt_id, True, reason, used)
    return used


# Matched segments must be this close (in the new model's standardised space) to keep an old key.
MATCH_MAX_DISTANCE = 0.75


@dataclass(frozen=True)
class PreviousSegments:
    """The champion's segments, which a new model's segments inherit keys and names from."""

    model: SegmentModel
    names: dict[str, tuple[str, str]]
    next_key_number: int


def _previous_segments(db: Database) -> PreviousSegments | None:
    version = registry.champion(db)
    if version is None:
        return None
    return PreviousSegments(registry.load(db, version), registry.segment_names(db, version),
                            registry.next_segment_key_number(db))


def segment_keys(model: SegmentModel, sample: pd.DataFrame, labels: np.ndarray,
                 previous: PreviousSegments | None) -> tuple[list[str], dict[str, tuple[str, str]]]:
    """Key per cluster label, and the (name, action) kept from the previous champion per kept key.

    With no previous champion (or other features) keys are S1..Sk by value. Otherwise each cluster is
    matched to the champion's by Hungarian matching on centroid distance, both mapped into the new
    model's space: a matched cluster keeps the key and name; the rest get new keys after the highest
    ever used, in order of value.
    """
    by_value = order_labels(sample, labels, model.k)
    if previous is None or previous.model.features != model.features:
        return by_value, {}
    old_in_new_space = model.to_model_space(previous.model.centroids_original_units())
    matched = match_to_previous(model.centroids, old_in_new_space, MATCH_MAX_DISTANCE)
    keys = [""] * model.k
    kept: dict[str, tuple[str, str]] = {}
    for label, old_label in matched.items():
        keys[label] = previous.model.segment_keys[old_label]
        kept[keys[label]] = previous.names[keys[label]]
    number = previous.next_key_number
    for label in sorted(range(model.k), key=lambda lbl: int(by_value[lbl][1:])):
        if not keys[label]:
            keys[label] = f"S{number}"
            number += 1
    return keys, kept


def describe_segments(model: SegmentModel, sample: pd.DataFrame,
                      previous: PreviousSegments | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Give the model its segment keys; return each segment's name, action and profile, and the
    sample's cluster labels."""
    labels, _, _ = model.assign(sample)
    keys, kept = segment_keys(model, sample, labels, previous)
    model.segment_keys = keys
    stats = profile(sample, labels, keys, model.features)
    fresh = [k for k in keys if k not in kept]
    has_rfm_scores = "mean_r_score" in stats.columns and stats["mean_r_score"].notna().all()
    if not fresh:
        names = pd.DataFrame(columns=["name", "action"])
    elif has_rfm_scores:
        positions = stats.loc[fresh, ["mean_r_score", "mean_f_score", "mean_m_score"]].set_axis(["r", "f", "m"], axis=1)
        names = name_segments(positions, taken=frozenset(name for name, _ in kept.values()))
    else:
        centroids_z = pd.DataFrame(model.centroids, columns=model.features, index=keys).loc[fresh]
        names = name_by_features(centroids_z)
    kept_names = pd.DataFrame([{"name": n, "action": a} for n, a in kept.values()], index=list(kept))
    names = pd.concat([kept_names, names]).reindex(keys)
    centroids = model.centroids_original_units().set_axis(keys)
    out = names.join(stats[["size", "share"]])
    out["centroid"] = [{f: round(float(v), 4) for f, v in centroids.loc[k].items()} for k in keys]
    out["profile"] = [{c: _json_number(v) for c, v in stats.loc[k].items() if c not in ("size", "share")}
                      for k in keys]
    for column in ("mean_r_score", "mean_f_score", "mean_m_score"):
        out[column] = stats[column] if column in stats.columns else np.nan
    return out, labels


def _json_number(value: float) -> float | None:
    return None if pd.isna(value) else round(float(value), 4)


def score(db: Database, settings: Settings, attempt_id: int) -> int:
    """Assign every customer of the run a segment, streaming features out and assignments in by COPY."""
    info = run_info(db, attempt_id)
    if info.model_version is None:
        raise SegflowError(f"run attempt {attempt_id} has no model version; train first")
    with _stage(db, attempt_id, "score"):
        model = registry.load(db, info.model_version)
        names = registry.segment_names(db, info.model_version)
        feature_set = feature_store.FeatureSet(tuple(model.features))
        # The model's cut points (else this run's own), so scores mean the same in every run it scores.
        cuts = registry.details(db, info.model_version)["rfm_cut_points"] or info.rfm_cut_points or {}
        db.run("queries/delete_run_assignments", {"attempt_id": attempt_id})
        label_keys = np.asarray(model.segment_keys)
        label_names = np.asarray([names[k][0] for k in model.segment_keys])
        label_actions = np.asarray([names[k][1] for k in model.segment_keys])
        scored = 0
        for chunk in feature_store.export_features(db, attempt_id, feature_set, chunk_rows=settings.score_chunk_rows):
            labels, distance, confidence = model.assign(chunk)
            frame = pd.DataFrame({
                "attempt_id": attempt_id, "customer_id": chunk["customer_id"].to_numpy(),
                "segment_key": label_keys[labels], "segment_name": label_names[labels],
                "action": label_actions[labels],
                "model_version": info.model_version, "distance": distance.round(6),
                "confidence": confidence.round(6),
            })
            if cuts:
                frame = frame.join(feature_store.rfm_scores(chunk, cuts).reset_index(drop=True))
            buffer = io.StringIO()
            frame.to_csv(buffer, sep="\t", header=False, index=False, na_rep="\\N")
            buffer.seek(0)
            with db.transaction() as cur:
                copy_in(cur, "segment_assignments", tuple(frame.columns), buffer)
            scored += len(frame)
        db.run_composed("queries/assign_rule_segments", {
            "attempt_id": attempt_id, "model_version": info.model_version,
            "uses_transactions": feature_store.FeatureSet(tuple(info.features)).uses_transactions,
            "inactive_key": INACTIVE[0], "inactive_name": INACTIVE[1], "inactive_action": INACTIVE[2],
            "unscored_key": UNSCORED[0], "unscored_name": UNSCORED[1], "unscored_action": UNSCORED[2],
        }, complete=feature_store.completeness(feature_set))
        db.run("queries/analyze_run_rows")
    return scored


PUBLISH_LOCK_KEY = 0x5E6F11  # any constant, the same in every segflow process
PUBLISH_STEPS = ("queries/publish_replace_same_day", "queries/publish_mark_run", "queries/publish_switch_pointer",
                 "queries/publish_segment_summary")


def publish(db: Database, attempt_id: int) -> None:
    """Mark the run published and switch what BI reads to it, in one transaction."""
    started = time.perf_counter()
    with db.transaction() as cur:
        run_named(cur, "queries/advisory_lock", {"key": PUBLISH_LOCK_KEY})
        for step in PUBLISH_STEPS:
            rows = run_named(cur, step, {"attempt_id": attempt_id})
            if step == "queries/publish_mark_run" and not rows:
                raise SegflowError(f"run attempt {attempt_id} is not running (already published or failed)")
        run_named(cur, "queries/record_stage_seconds",
                  {"attempt_id": attempt_id, "stage": "publish", "seconds": time.perf_counter() - started})


def record_transitions(db: Database, attempt_id: int) -> int:
    """Customers per (from, to) segment between this published run and its neighbours; returns rows written."""
    with _stage(db, attempt_id, "transitions"), db.transaction() as cur:
        rows = run_named(cur, "queries/published_neighbours", {"attempt_id": attempt_id})
        if not rows:
            raise SegflowError(f"run attempt {attempt_id} is not published; no transitions to record")
        run_id, prev_run, prev_attempt, next_run, next_attempt = rows[0]
        run_named(cur, "queries/delete_transitions_around",
                  {"run_id": run_id, "prev_run": prev_run, "next_run": next_run})
        written = 0
        for from_run, from_attempt, to_run, to_attempt in ((prev_run, prev_attempt, run_id, attempt_id),
                                                             (run_id, attempt_id, next_run, next_attempt)):
            if from_attempt is not None and to_attempt is not None:
                run_named(cur, "queries/insert_transitions", {"from_run": from_run, "from_attempt": from_attempt,
                                                              "to_run": to_run, "to_attempt": to_attempt})
                written += cur.rowcount
    return written


def drift_reports(db: Database, settings: Settings, attempt_id: int) -> list[drift.DriftResult]:
    """Drift of a published attempt against the previous published run and its model's training data."""
    info = run_info(db, attempt_id)
    with _stage(db, attempt_id, "drift"):
        rows = db.run("queries/published_neighbours", {"attempt_id": attempt_id})
        if not rows:
            raise SegflowError(f"run attempt {attempt_id} is not published; no drift report")
        run_id, prev_run, prev_attempt, _, _ = rows[0]
        rows = db.run("queries/transitions_into_run", {"run_id": run_id})
        page = drift.transitions_path(settings, run_id)
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(drift.transitions_html(rows, run_id, str(info.as_of)), encoding="utf-8")
        results = []
        for reference in ("previous", "training"):
            result = drift.build_report(db, settings, attempt_id, run_id, reference, prev_attempt, prev_run,
                                        info.model_version)
            if result is not None:
                drift.store(db, run_id, attempt_id, result)
                results.append(result)
    return results


DRIFT_EVENT = "segflow.drift.detected"


def transitions_page(settings: Settings, run_id: int) -> Path:
    """Where the run's segment-transitions page is (written with its drift reports)."""
    return drift.transitions_path(settings, run_id)


def drift_event(results: list[drift.DriftResult], run_id: int, as_of: date) -> dict | None:
    """The Prefect event to emit when a run drifted (None when it did not): name, resource, payload."""
    drifted = [r for r in results if r.dataset_drift]
    if not drifted:
        return None
    return {
        "event": DRIFT_EVENT,
        "resource": {"prefect.resource.id": f"segflow.run.{run_id}", "prefect.resource.name": f"segflow run {run_id}"},
        "payload": {"run_id": run_id, "as_of": as_of.isoformat(),
                    "references": [{"reference": r.reference, "segment_psi": r.shares.psi,
                                    "drift_share": r.drift_share, "html_path": str(r.html_path)} for r in drifted]},
    }


def drift_markdown(results: list[drift.DriftResult], as_of: date, transitions_page: Path | None = None) -> str:
    """The drift verdicts and report paths as markdown, for the Prefect artifact."""
    lines = [f"# Drift as of {as_of}", "", "| reference | drift | segment PSI | drifted features | report |",
             "|---|---|---:|---:|---|"]
    for r in results:
        lines.append(f"| {r.reference} | {'yes' if r.dataset_drift else 'no'} | {r.shares.psi:.3f} | "
                     f"{r.drift_share:.0%} | file://{r.html_path} |")
    if not results:
        lines.append("| (no reference yet) | | | | |")
    if transitions_page is not None:
        lines += ["", f"Segment transitions: file://{transitions_page}"]
    return "\n".join(lines) + "\n"


def is_transient(error: BaseException) -> bool:
    """Whether an error may go away on a retry: I/O trouble yes, a SegflowError about the data or settings no."""
    return isinstance(error, DatabaseUnreachable) or not isinstance(error, SegflowError)


def fail(db: Database, attempt_id: int, error: BaseException | str) -> None:
    """Mark a run failed and drop its partial rows; the published run stays visible."""
    db.run("queries/fail_run", {"attempt_id": attempt_id, "error": str(error)[:2000]})


def published_run(db: Database, run_id: int | None = None) -> dict:
    """A published run (default: the one BI reads now): run_id, as_of, attempt_id, model_version, ..."""
    rows = db.run("queries/published_run", {"run_id": run_id})
    if rows:
        columns = ("run_id", "as_of", "attempt_id", "model_version", "customers_known", "published_at")
        return dict(zip(columns, rows[0], strict=True))
    if run_id is None:
        raise SegflowError("no run is published yet; run `segflow run` (or `segflow demo`) first")
    known = db.run("queries/run_status", {"run_id": run_id})
    if not known:
        raise SegflowError(f"run {run_id} does not exist (see segflow.runs)")
    raise SegflowError(f"run {run_id} (as of {known[0][0]}) is {known[0][1]}, not published")


def segment_table(db: Database, attempt_id: int) -> pd.DataFrame:
    """Per segment of a published attempt: key, name, customers, share and mean recency, frequency, monetary."""
    columns = ["segment_key", "segment_name", "customers", "share", "mean_recency_days", "mean_frequency",
               "mean_monetary"]
    return pd.DataFrame(db.run("queries/run_segment_table", {"attempt_id": attempt_id}), columns=columns)


def segment_markdown(table: pd.DataFrame, as_of: date, model_version: int | None) -> str:
    """The segment table as markdown, for the Prefect artifact."""
    lines = [f"# Segments as of {as_of} (model v{model_version})", "",
             "| key | segment | customers | share | mean recency (days) | mean frequency | mean monetary |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for row in table.itertuples(index=False):
        def fmt(value: float, pattern: str) -> str:
            return "" if value is None or pd.isna(value) else format(value, pattern)

        lines.append(f"| {row.segment_key} | {row.segment_name} | {row.customers:,} | {row.share:.1%} | "
                     f"{fmt(row.mean_recency_days, '.1f')} | {fmt(row.mean_frequency, '.2f')} | "
                     f"{fmt(row.mean_monetary, ',.2f')} |")
    return "\n".join(lines) + "\n"


def backfill_dates(first: date, last: date, every: str) -> list[date]:
    """As-of dates from first to last (inclusive when it falls on the step), oldest first."""
    if every not in ("day", "week"):
        raise SegflowError(f"--every must be day or week, got {every!r}")
    if last < first:
        raise SegflowError(f"--to {last} is before --from {first}")
    step = timedelta(days=1 if every == "day" else 7)
    return [first + i * step for i in range((last - first) // step + 1)]


def run_nightly(db: Database, settings: Settings, as_of: date, retrain: str = "auto",
                features: list[str] | None = None) -> int:
    """All stages in order without Prefect (the flow runs the same stages as tasks); returns the attempt_id.

    The segment report, the flow's last task, is left out: build it with segflow.report when needed.
    """
    attempt_id = begin_run(db, settings, as_of, retrain, features)
    try:
        check_source(db, attempt_id)
        build_features(db, attempt_id)
        train_if_needed(db, settings, attempt_id)
        score(db, settings, attempt_id)
        publish(db, attempt_id)
    except BaseException as exc:
        fail(db, attempt_id, exc)
        raise
    record_transitions(db, attempt_id)
    drift_reports(db, settings, attempt_id)
    return attempt_id
