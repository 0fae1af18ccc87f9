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
from datetime import UTC, date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from segflow import attempts, comparison, drift, policy, registry, retention
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
    """as_of, model_version, retrained, customers_known, retrain_reason, run_id, outcome and batch_changes
    (imports added or removed since the last published run) of an attempt."""
    columns = ("as_of", "model_version", "retrained", "customers_known", "retrain_reason", "run_id", "outcome",
               "batch_changes")
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
    attempts.reap_abandoned(db)
    attempt_id, _ = attempts.start_attempt(db, {"as_of": as_of, "retrain_mode": retrain,
                                                "features": list(feature_set.names),
                                                "lookback_days": settings.lookback_days,
                                                "source_table": settings.source_table})
    return attempt_id


def preflight(db: Database, settings: Settings, retrain: str = "auto", features: list[str] | None = None,
              as_of_dates: list[date] | None = None) -> None:
    """Refuse, before any run starts, a request that cannot succeed: retrain mode, features, source table, and
    as-of dates with no purchase in their lookback window."""
    if not _requested_features(db, settings, retrain, features).uses_transactions:
        return
    feature_store.check_source_table(db)
    if not as_of_dates:
        return
    first, last = feature_store.source_date_range(db)
    if first is None:
        return  # check_source words an empty source with what to load
    first_day, last_day = first.astimezone(UTC).date(), last.astimezone(UTC).date()
    for day in as_of_dates:
        window_start = day - timedelta(days=settings.lookback_days - 1)
        if day < first_day or window_start > last_day:
            raise SegflowError(
                f"no purchase lines in the {settings.lookback_days} days up to {day} (SEGFLOW_LOOKBACK_DAYS) in "
                f"{settings.source_table}: its lines run from {first:%Y-%m-%d} to {last:%Y-%m-%d}; pick an as-of "
                "date in between")


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
        if db.settings.source_table == DEFAULT_SOURCE:
            changes = [{"batch_id": b, "name": n, "lines": lines, "change": c}
                       for b, n, lines, c in db.run("queries/batch_changes_since_last_run", {"attempt_id": attempt_id})]
            db.run("queries/record_batch_changes", {"attempt_id": attempt_id, "batch_changes": json.dumps(changes)})
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


def training_decision(db: Database, settings: Settings, attempt_id: int) -> policy.TrainingDecision:
    """The retraining policy's decision for a run (segflow.policy), with the drift check when it asks for one.

    Checking drift scores the run with the champion first (kept when nothing changes).
    """
    info = run_info(db, attempt_id)
    current = registry.champion(db)
    if current is None and info.retrain_mode == "never":
        raise SegflowError("retrain='never' but there is no champion model")
    champion = None
    if current is not None:
        facts = registry.details(db, current)
        champion = policy.Champion(current, date.fromisoformat(str(facts["as_of"])), tuple(facts["features"]))
    decision = policy.decide_training(
        info.retrain_mode, info.as_of, tuple(info.features), champion,
        registry.last_training(db, info.features, info.as_of), settings.max_age_days, settings.retrain_cooldown_days)
    if not decision.check_drift or current is None:
        return decision
    drifted = _drift_reasons(db, settings, attempt_id, current)
    if drifted:
        return policy.TrainingDecision(True, True, True, False, tuple(drifted))
    return policy.TrainingDecision(False, False, False, False, (f"{decision.reasons[0]}, no drift",))


def _drift_reasons(db: Database, settings: Settings, attempt_id: int, champion: int) -> list[str]:
    """Score the run with the champion and return why it drifted (empty when it did not)."""
    _record_decision(db, attempt_id, False, None, champion, None)
    score(db, settings, attempt_id)
    run_id = run_summary(db, attempt_id)["run_id"]
    previous = db.run("queries/previous_published_attempt", {"attempt_id": attempt_id})
    prev_run, prev_attempt = previous[0] if previous else (None, None)
    results = [drift.build_report(db, settings, attempt_id, run_id, "training", None, None, champion)]
    if prev_attempt is not None:
        basis = comparison.comparison_basis(db, settings, prev_attempt, attempt_id)
        if basis.comparable:
            results.append(drift.build_report(db, settings, attempt_id, run_id, "previous", prev_attempt, prev_run,
                                              champion, under_model=basis.under_model))
    return [f"drift against {r.reference}: segment PSI {r.shares.psi:.3f}, {r.drift_share:.0%} of features drifted"
            for r in results if r is not None and r.dataset_drift]


def _record_decision(db: Database, attempt_id: int, retrained: bool, reason: str | None, version: int | None,
                     outcome: str | None) -> None:
    db.run("queries/record_training_decision", {"attempt_id": attempt_id, "retrained": retrained,
                                                "retrain_reason": reason, "model_version": version,
                                                "outcome": outcome})


def measure_challenge(champion: SegmentModel, challenger: SegmentModel, sample: pd.DataFrame, settings: Settings,
                      versions: tuple[int, int]) -> policy.Challenge:
    """The gate's measurements on the same current customers: both silhouettes, and how alike the two
    models segment them (adjusted Rand index). versions: (challenger, champion)."""
    from sklearn.metrics import adjusted_rand_score, silhouette_score

    head = sample.head(settings.silhouette_sample)
    labels, scores = [], []
    for model in (challenger, champion):
        assigned, _, _ = model.assign(head)
        labels.append(assigned)
        z = model.to_model_space(head)
        scores.append(float(silhouette_score(z, assigned)) if len(set(assigned)) > 1 else -1.0)
    return policy.Challenge(
        challenger=versions[0], champion=versions[1], silhouette=round(scores[0], 4),
        champion_silhouette=round(scores[1], 4), adjusted_rand_index=round(float(adjusted_rand_score(*labels)), 4),
        margin=settings.challenger_margin, min_ari=settings.challenger_min_ari)


def train_if_needed(db: Database, settings: Settings, attempt_id: int) -> int:
    """Decide whether to train; train, register and (if the policy and the gate allow) promote; returns the
    version the run scores with."""
    decision = training_decision(db, settings, attempt_id)
    reason = "; ".join(decision.reasons)
    champion = registry.champion(db)
    if not decision.train:
        _record_decision(db, attempt_id, False, reason, champion, f"scored with champion v{champion}")
        return champion
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
        promote = decision.may_promote
        if promote and decision.gated and previous is not None and champion is not None:
            challenge = measure_challenge(previous.model, selection.model, sample, settings, (version, champion))
            registry.record_challenge(db, version, challenge.as_dict())
            reason += f"; {challenge.verdict}"
            promote = challenge.promoted
        if promote:
            registry.promote(db, version)
    same_features = champion is not None and previous is not None and previous.model.features == list(info.features)
    used = version if promote or not same_features else champion
    outcome = _training_outcome(version, champion, used, promote, decision.gated)
    _record_decision(db, attempt_id, True, reason, used, outcome)
    return used


def _training_outcome(version: int, champion: int | None, used: int, promoted: bool, gated: bool) -> str:
    if champion is None:
        return f"trained v{version}, the first champion"
    if promoted:
        return (f"trained challenger v{version} and promoted it over v{champion}" if gated
                else f"trained v{version} for the run's features; it replaced champion v{champion}")
    if gated:
        return f"trained challenger v{version}, which lost; scored with champion v{champion}"
    return f"trained v{version}, kept as a candidate; scored with v{used}"


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
    attempts.release(attempt_id)  # published: no longer an attempt a later run could abandon


def _neighbours(db: Database, attempt_id: int, what: str) -> tuple[int, int | None, int | None, int | None, int | None]:
    """(run_id, prev_run, prev_attempt, next_run, next_attempt) of a published attempt."""
    rows = db.run("queries/published_neighbours", {"attempt_id": attempt_id})
    if not rows:
        raise SegflowError(f"run attempt {attempt_id} is not published; no {what}")
    return rows[0]


def record_transitions(db: Database, settings: Settings, attempt_id: int) -> int:
    """Customers per (from, to) segment between this published run and its neighbours; returns rows written.

    When two neighbours were scored by different models, the earlier one is re-scored with the later one's
    model first (segflow.comparison), so a move is a customer's, not the model's.
    """
    with _stage(db, attempt_id, "transitions"):
        run_id, prev_run, prev_attempt, next_run, next_attempt = _neighbours(db, attempt_id, "transitions")
        pairs = [(from_run, from_attempt, to_run, to_attempt,
                  comparison.comparison_basis(db, settings, from_attempt, to_attempt))
                 for from_run, from_attempt, to_run, to_attempt in ((prev_run, prev_attempt, run_id, attempt_id),
                                                                     (run_id, attempt_id, next_run, next_attempt))
                 if from_attempt is not None and to_attempt is not None]
        written = 0
        with db.transaction() as cur:
            run_named(cur, "queries/delete_transitions_around",
                      {"run_id": run_id, "prev_run": prev_run, "next_run": next_run})
            for from_run, from_attempt, to_run, to_attempt, basis in pairs:
                if basis.comparable:
                    run_named(cur, "queries/insert_transitions", {
                        "from_run": from_run, "from_attempt": from_attempt, "to_run": to_run,
                        "to_attempt": to_attempt, "under_model": basis.under_model})
                    written += cur.rowcount
    return written


def drift_reports(db: Database, settings: Settings, attempt_id: int) -> list[drift.DriftResult]:
    """Drift of a published attempt against the previous published run and its model's training data.

    The published run after it (if any) now follows this one: its 'previous' report and transitions page
    are rebuilt against this run, so no page compares with a run that is no longer its neighbour.
    """
    info = run_info(db, attempt_id)
    with _stage(db, attempt_id, "drift"):
        run_id, prev_run, prev_attempt, next_run, next_attempt = _neighbours(db, attempt_id, "drift report")
        results = []
        previous = _previous_report(db, settings, attempt_id, run_id, prev_attempt, prev_run)
        if previous is not None:
            results.append(previous)
        training = drift.build_report(db, settings, attempt_id, run_id, "training", None, None, info.model_version)
        _store_or_forget(db, run_id, attempt_id, "training", training)
        if training is not None:
            results.append(training)
        _write_transitions_page(db, settings, run_id, info.as_of, prev_run)
        if next_run is not None and next_attempt is not None:
            _previous_report(db, settings, next_attempt, next_run, attempt_id, run_id)
            _write_transitions_page(db, settings, next_run, run_info(db, next_attempt).as_of, run_id)
    return results


def _previous_report(db: Database, settings: Settings, attempt_id: int, run_id: int, prev_attempt: int | None,
                     prev_run: int | None) -> drift.DriftResult | None:
    """Build and store an attempt's drift report against the previous published run (like for like)."""
    result = None
    if prev_attempt is not None:
        basis = comparison.comparison_basis(db, settings, prev_attempt, attempt_id)
        if basis.comparable:
            version = run_info(db, attempt_id).model_version
            result = drift.build_report(db, settings, attempt_id, run_id, "previous", prev_attempt, prev_run,
                                        version, under_model=basis.under_model)
        else:
            log.info("run %s: no drift report against run %s: %s", run_id, prev_run, basis.note)
    _store_or_forget(db, run_id, attempt_id, "previous", result)
    return result


def _store_or_forget(db: Database, run_id: int, attempt_id: int, reference: str,
                     result: drift.DriftResult | None) -> None:
    # Without a comparable reference any earlier report of the run against it is stale: it goes.
    if result is None:
        db.run("queries/delete_drift_report", {"run_id": run_id, "reference": reference})
    else:
        drift.store(db, run_id, attempt_id, result)


def _write_transitions_page(db: Database, settings: Settings, run_id: int, as_of: date, prev_run: int | None) -> None:
    rows = db.run("queries/transitions_into_run", {"run_id": run_id})
    note = ("No earlier published run: nothing to compare with." if prev_run is None else
            f"Run {prev_run}, the published run before this one, was scored on other features: not compared.")
    page = drift.transitions_path(settings, run_id)
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(drift.transitions_html(rows, run_id, str(as_of), note), encoding="utf-8")


DRIFT_EVENT = "segflow.drift.detected"


def transitions_page(settings: Settings, run_id: int) -> Path:
    """Where the run's segment-transitions page is (written with its drift reports)."""
    return drift.transitions_path(settings, run_id)


def is_current(db: Database, attempt_id: int) -> bool:
    """Whether BI reads this attempt now (a backfilled older date is published to the history only)."""
    rows = db.run("queries/current_run_summary")
    return bool(rows) and rows[0][0] == attempt_id


def drift_event(results: list[drift.DriftResult], run_id: int, as_of: date, current: bool = True) -> dict | None:
    """The Prefect event to emit when a run drifted (None when it did not): name, resource, payload.

    Only the run BI reads now raises it: a backfilled older date tells history, not what to do today.
    """
    drifted = [r for r in results if r.dataset_drift]
    if not drifted or not current:
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
    try:
        db.run("queries/fail_run", {"attempt_id": attempt_id, "status": "failed", "error": str(error)[:2000]})
    finally:
        attempts.release(attempt_id)


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
             "| key | segment | customers | share of all customers | mean recency (days) | mean frequency | "
             "mean monetary |",
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
    record_transitions(db, settings, attempt_id)
    drift_reports(db, settings, attempt_id)
    retention.prune_reports(db, settings)
    return attempt_id
