"""Decide what a run does about its model (segflow.modelling.policy holds the rules), before and after its drift check.

A run that does not train is scored with the champion: the decision records the champion as the run's model
version, so the score stage knows which model to use.
"""

from __future__ import annotations

from datetime import date

from segflow.modelling import policy, registry
from segflow.monitoring.drift_report import DriftResult
from segflow.orchestration.runs import run_info
from segflow.settings import Settings
from segflow.stages.prepare import NoChampionToKeep
from segflow.storage.db import Database


def record(
    db: Database, attempt_id: int, retrained: bool, reason: str | None, version: int | None, outcome: str | None
) -> None:
    """Store what a run decided about its model (segflow.runs: retrained, retrain_reason, model_version,
    outcome)."""
    db.run(
        "queries/decide/record_training_decision",
        {
            "attempt_id": attempt_id,
            "retrained": retrained,
            "retrain_reason": reason,
            "model_version": version,
            "outcome": outcome,
        },
    )


def before_drift(db: Database, settings: Settings, attempt_id: int) -> policy.TrainingDecision:
    """The policy's decision from the run, the champion and the last training; check_drift when drift decides."""
    info = run_info(db, attempt_id)
    current = registry.champion(db)
    if current is None and info.retrain_mode == "never":
        raise NoChampionToKeep()
    champion = None
    if current is not None:
        facts = registry.details(db, current)
        champion = policy.Champion(current, date.fromisoformat(str(facts["as_of"])), tuple(facts["features"]))
    decision = policy.decide_training(
        info.retrain_mode,
        info.as_of,
        tuple(info.features),
        champion,
        registry.last_training(db, info.features, info.as_of),
        settings.max_age_days,
        settings.retrain_cooldown_days,
    )
    if current is not None and not decision.train:
        outcome = None if decision.check_drift else f"scored with champion v{current}"
        record(db, attempt_id, False, "; ".join(decision.reasons), current, outcome)
    return decision


def after_drift(
    db: Database, settings: Settings, attempt_id: int, decision: policy.TrainingDecision, checked: list[DriftResult]
) -> policy.TrainingDecision:
    """The decision once the run, scored with the champion, was checked for drift: train a challenger when it
    drifted (a rise of the inactive share named first: 'drift against training: inactive 0.3 % → 59.6 %, segment
    PSI ...'), else keep the champion."""
    drifted = [f"drift against {r.reference}: {r.verdict_text()}" for r in checked if r.dataset_drift]
    if drifted:
        return policy.TrainingDecision(True, True, True, False, tuple(drifted))
    champion = registry.champion(db)
    reason = f"{decision.reasons[0]}, no drift"
    record(db, attempt_id, False, reason, champion, f"scored with champion v{champion}")
    return policy.TrainingDecision(False, False, False, False, (reason,))
