"""Taking a published run back: the attempt is marked withdrawn (its rows kept), BI returns to the previous
published run, the model promotion the run made is undone, and what compared with it goes — in one transaction.

A rerun of the same as-of date afterwards is an ordinary night: it publishes a new attempt of the same run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from segflow.errors import SegflowError
from segflow.modelling import mlflow_mirror
from segflow.orchestration.runs import run_info
from segflow.settings import Settings
from segflow.storage.db import Database, run_named

log = logging.getLogger(__name__)


class WithdrawRefused(SegflowError):
    """A run that cannot be withdrawn; nothing was changed."""


class UnknownRunDate(WithdrawRefused):
    def __init__(self, as_of: date) -> None:
        self.as_of = as_of
        super().__init__(f"there is no run as of {as_of}")


class RunNotPublished(WithdrawRefused):
    """The run has no published attempt: it never published (its latest attempt failed, or still runs)."""

    def __init__(self, as_of: date, latest_status: str) -> None:
        self.as_of, self.latest_status = as_of, latest_status
        super().__init__(f"the run as of {as_of} is not published (its latest attempt is {latest_status})")


class AlreadyWithdrawn(WithdrawRefused):
    def __init__(self, as_of: date, withdrawn_at: datetime, reason: str | None) -> None:
        self.as_of, self.withdrawn_at, self.reason = as_of, withdrawn_at, reason
        super().__init__(f"the run as of {as_of} was already withdrawn on {withdrawn_at:%Y-%m-%d %H:%M %Z} ({reason})")


class NothingToReturnTo(WithdrawRefused):
    """The run is the one BI reads and no published run of an earlier date exists to read instead."""

    def __init__(self, as_of: date) -> None:
        self.as_of = as_of
        super().__init__(
            f"the run as of {as_of} is the one BI reads and there is no published run of an earlier date to return to"
        )


class PromotionInUse(WithdrawRefused):
    """The run promoted a model that another published run was scored with: undoing the promotion would leave
    that run scored by a model that was never champion for it."""

    def __init__(self, as_of: date, version: int, scored_as_of: date) -> None:
        self.as_of, self.version, self.scored_as_of = as_of, version, scored_as_of
        super().__init__(
            f"the run as of {as_of} promoted model v{version}, and the published run as of {scored_as_of} was scored "
            f"with it: withdraw the run as of {scored_as_of} first"
        )


class NoEarlierChampion(WithdrawRefused):
    def __init__(self, as_of: date, version: int) -> None:
        self.as_of, self.version = as_of, version
        super().__init__(
            f"the run as of {as_of} promoted model v{version}, the first champion: there is no earlier champion to "
            "return to"
        )


class MissingReason(WithdrawRefused):
    def __init__(self) -> None:
        super().__init__("a withdrawal needs a reason (it is kept with the run)")


@dataclass(frozen=True)
class Withdrawal:
    """What a withdrawal did."""

    as_of: date
    run_id: int
    attempt_id: int
    reason: str
    was_current: bool
    current_as_of: date | None  # the as-of date BI reads after the withdrawal
    retired_version: int | None  # the champion this run had promoted, retired again
    restored_version: int | None  # the champion it had replaced, champion again
    transitions_deleted: int  # rows of segment_transitions into and out of the run
    drift_reports_deleted: list[int]  # runs whose drift report against this run went
    next_as_of: date | None  # the next published run, whose 'previous' run changed
    transitions_rebuilt: int | None  # rows of the next run's transitions rebuilt (None: no next run, or failed)
    mlflow_aliases: dict[str, str | None] | None  # where the MLflow aliases point now (None: not mirrored)


def withdraw(db: Database, settings: Settings, as_of: date, reason: str) -> Withdrawal:
    """Withdraw the published run of an as-of date in one transaction (refusing with a WithdrawRefused where it
    cannot be done); then, as a best effort, rebuild the next published run's transitions and let the MLflow
    aliases follow an undone promotion."""
    reason = reason.strip()
    if not reason:
        raise MissingReason()
    with db.transaction() as cur:
        current_attempt = run_named(cur, "queries/withdraw/1_lock_pointer")
        rows = run_named(cur, "queries/withdraw/2_run_to_withdraw", {"as_of": as_of})
        if not rows:
            raise UnknownRunDate(as_of)
        run_id, attempt_id, is_current, latest_status, withdrawn_at, withdrawn_reason = rows[0][:6]
        prev_attempt, prev_as_of, next_attempt, next_as_of = rows[0][6:]
        if attempt_id is None:
            if latest_status == "withdrawn":
                raise AlreadyWithdrawn(as_of, withdrawn_at, withdrawn_reason)
            raise RunNotPublished(as_of, latest_status)
        if is_current and prev_attempt is None:
            raise NothingToReturnTo(as_of)
        retired = restored = None
        promotion = run_named(cur, "queries/withdraw/3_promotion_to_undo", {"attempt_id": attempt_id})
        if promotion:
            retired, restored, scored_as_of = promotion[0]
            if scored_as_of is not None:
                raise PromotionInUse(as_of, retired, scored_as_of)
            if restored is None:
                raise NoEarlierChampion(as_of, retired)
        run_named(cur, "queries/withdraw/4_mark_withdrawn", {"attempt_id": attempt_id, "reason": reason})
        if is_current:
            run_named(cur, "queries/withdraw/5_move_pointer", {"from_attempt": attempt_id, "to_attempt": prev_attempt})
        transitions = run_named(cur, "queries/withdraw/6_delete_stale_transitions", {"run_id": run_id})
        reports = run_named(cur, "queries/withdraw/7_delete_stale_drift_reports", {"run_id": run_id})
        if retired is not None:
            run_named(cur, "queries/withdraw/8_retire_promoted", {"version": retired})
            run_named(cur, "queries/withdraw/9_restore_champion", {"version": restored})
            run_named(cur, "queries/registry/sync_segment_keys", {"version": restored})
    log.info("withdrew the run as of %s (attempt %s): %s", as_of, attempt_id, reason)
    still_current = current_attempt[0][0] if current_attempt else None
    return Withdrawal(
        as_of=as_of,
        run_id=run_id,
        attempt_id=attempt_id,
        reason=reason,
        was_current=bool(is_current),
        current_as_of=prev_as_of if is_current else _as_of_of(db, still_current),
        retired_version=retired,
        restored_version=restored,
        transitions_deleted=len(transitions),
        drift_reports_deleted=sorted({row[0] for row in reports}),
        next_as_of=next_as_of,
        transitions_rebuilt=_rebuild_next_transitions(db, settings, next_attempt),
        mlflow_aliases=mlflow_mirror.after_promotion(db, settings) if retired is not None else None,
    )


def _as_of_of(db: Database, attempt_id: int | None) -> date | None:
    return None if attempt_id is None else run_info(db, attempt_id).as_of


def _rebuild_next_transitions(db: Database, settings: Settings, next_attempt: int | None) -> int | None:
    """Rows of the next published run's transitions, rebuilt against its new previous run (none when the withdrawn
    run was the first); None without a next run, or when the rebuild failed: the withdrawal itself is done, and the
    stale rows are gone either way."""
    if next_attempt is None:
        return None
    from segflow.stages import monitor  # the nightly's stages (and Evidently's import) only when there is a next run

    try:
        return monitor.record_transitions(db, settings, next_attempt)
    except Exception as exc:  # the withdrawal is committed; a missing rebuild only warns
        log.warning("the transitions of attempt %s were not rebuilt: %s", next_attempt, exc)
        return None
