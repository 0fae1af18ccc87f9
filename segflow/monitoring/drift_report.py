"""One drift report of a published run against a reference: the figures (monitoring.drift_shares) over the
reference's populations (monitoring.drift_references), Evidently's page with our header (monitoring.drift_evidently,
monitoring.drift_page), the verdict (monitoring.verdict), and the row stored in segflow.drift_reports."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from segflow.monitoring import drift_page, drift_references, drift_workspace
from segflow.monitoring.drift_evidently import (
    FEATURES,
    PER_SEGMENT_FEATURES,
    PER_SEGMENT_MIN_ROWS,
    PER_SEGMENT_MIN_SHARE,
    evidently_report,
)
from segflow.monitoring.drift_shares import (
    DriftInputInvalid,
    InactiveShift,
    Populations,
    ShareDrift,
    inactive_shift,
    over_keys,
    share_drift,
)
from segflow.monitoring.verdict import DriftThresholds, DriftVerdict, drift_verdict
from segflow.settings import Settings
from segflow.storage.db import Database

log = logging.getLogger(__name__)


@dataclass
class DriftResult:
    """A run's drift figures against one reference, and (from them and the thresholds) its verdict."""

    reference: str
    drift_share: float
    shares: ShareDrift
    thresholds: DriftThresholds
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
    # How the reference's shares were counted (segflow.monitoring.drift_references: training run, counts, model).
    reference_basis: str = ""
    # Evidently's snapshot, for the workspace (segflow.monitoring.drift_workspace); not stored in the database.
    snapshot: Any = field(default=None, repr=False, compare=False)

    @property
    def verdict(self) -> DriftVerdict:
        """The verdict of these figures: computed, never stored beside them, so the two cannot disagree."""
        return drift_verdict(self.shares.psi, self.drift_share, self.inactive, self.thresholds)

    @property
    def dataset_drift(self) -> bool:
        return self.verdict.drifted

    @property
    def inactive_risen(self) -> bool:
        return self.verdict.inactive_risen

    def verdict_text(self) -> str:
        """'inactive 0.0 % → 33.3 %, segment PSI 0.462, 0% of features drifted' (segflow.monitoring.verdict)."""
        return self.verdict.text

    def details(self) -> dict[str, Any]:
        inactive = self.inactive
        populations = self.populations
        verdict = self.verdict
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
                "threshold_points": self.thresholds.inactive_rise_points,
                "risen": verdict.inactive_risen,
                "text": inactive.text(),
            },
            "customers_now": None if populations is None else populations.customers_now,
            "customers_then": None if populations is None else populations.customers_then,
            "new_since_reference": None if populations is None else populations.new_since_reference,
            "reference_basis": self.reference_basis,
            "verdict": verdict.text,
        }


def report_path(settings: Settings, run_id: int, reference: str) -> Path:
    """Stable path of a run's drift report against a reference (a rerun overwrites it)."""
    return settings.report_path / "drift" / f"run-{run_id}-vs-{reference}.html"


def staged_path(settings: Settings, run_id: int, reference: str, attempt_id: int) -> Path:
    """Where a report built before publishing waits (the published run's report stays in place until then)."""
    return settings.report_path / "drift" / f"run-{run_id}-vs-{reference}.attempt-{attempt_id}.html"


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

    under_model: the previous run's customers as this model version re-scored them (segflow.modelling.comparison),
    when the previous run was scored by another model. html_path: where to write the HTML (default: the
    run's stable report path).
    """
    if reference == "previous":
        if reference_attempt is None:
            return None
        # A previous run past SEGFLOW_SCORED_RUNS_KEPT still has its sample and counts (run_samples): compared from
        # those. Re-scoring it under another model needs its features: comparison_basis refuses that case.
        ref = drift_references.previous_reference(db, settings, reference_attempt, under_model)
    elif reference == "training":
        if reference_version is None:
            return None
        ref = drift_references.training_reference(db, settings, reference_version)
    else:
        raise DriftInputInvalid("reference must be 'previous' or 'training'", "", reference, quoted=True)
    all_now, customers_now = drift_references.counted(db, settings, attempt_id)
    now = drift_references.attempt_sample(db, settings, attempt_id, settings.drift_sample)
    now_shares = all_now
    if ref.model_only:
        now_shares = over_keys(all_now, set(ref.shares))
        now = now[now["segment_key"].isin(set(ref.shares))]
    then = ref.sample
    if now.empty or then.empty:
        return None
    shares = share_drift(now_shares, ref.shares)
    inactive = None if ref.model_only else inactive_shift(now_shares, ref.shares)
    populations = Populations(
        customers_now, ref.customers, drift_references.new_since(db, attempt_id, ref.customers_of)
    )
    large = [
        k
        for k, share in now_shares.items()
        if share >= PER_SEGMENT_MIN_SHARE
        and _measured(now, k) >= PER_SEGMENT_MIN_ROWS
        and _measured(then, k) >= PER_SEGMENT_MIN_ROWS
    ]
    path = html_path or report_path(settings, run_id, reference)
    version = drift_references.scored_with(db, attempt_id)
    versions = [v for v in (version, reference_version, under_model) if v is not None]
    labels = drift_references.segment_labels(db, versions, [r["segment_key"] for r in shares.rows])
    as_of, reference_as_of, model_as_of = db.run(
        "queries/drift/drift_header_dates",
        {"attempt_id": attempt_id, "reference_attempt": reference_attempt, "reference_version": reference_version},
    )[0]
    stamp = drift_workspace.snapshot_stamp(run_id, as_of, reference)
    columns, snapshot = evidently_report(now, then, large, path, labels, stamp)
    overall = [c for c in columns if c["column"] in FEATURES]
    # Rounded as stored: the verdict is of the figures the database keeps.
    drift_share = round(sum(c["drifted"] for c in overall) / len(overall), 4) if overall else 0.0
    thresholds = DriftThresholds.from_settings(settings)
    verdict = drift_verdict(shares.psi, drift_share, inactive, thresholds)
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
        verdict=verdict,
        psi=shares.psi,
        psi_threshold=thresholds.segment_psi,
        drifted_features=[c["column"] for c in overall if c["drifted"]],
        features=[c["column"] for c in overall],
        drift_share=drift_share,
        share_threshold=thresholds.feature_share,
        shares=[
            drift_page.SegmentShare(labels[r["segment_key"]], r["share_then"], r["share_now"], r["psi"])
            for r in shares.rows
        ],
        means=drift_page.segment_means(now, then, [c["column"] for c in overall], labels),
        under_model=under_model,
        inactive=None
        if inactive is None
        else drift_page.InactiveVerdict(inactive.text(), inactive.rise_points, thresholds.inactive_rise_points),
        customers_now=customers_now,
        customers_then=ref.customers,
        new_since_reference=populations.new_text() if ref.customers_of is not None else None,
        model_only=ref.model_only,
    )
    path.write_text(drift_page.with_header(path.read_text(encoding="utf-8"), header), encoding="utf-8")
    return DriftResult(
        reference=reference,
        drift_share=drift_share,
        shares=shares,
        thresholds=thresholds,
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
