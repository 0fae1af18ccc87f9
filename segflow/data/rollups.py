"""Per-customer rollups of the lookback window, so that a night's features read one row per customer, not every
invoice-day of the window (issue 25; sql/migrations/018_customer_window_rollups.sql).

The rollups hold, per customer, what the window's invoice_day_totals add up to (newest purchase, purchasing
invoices, what they sum to, what was returned), valid for one (as_of, lookback_days). A night's fold stage brings
them to the run's date after folding the aggregates:

* **rolled**: only the customers that can differ are recomputed: those whose invoice_day_totals a fold changed
  since (every fold, a night's or an import's, marks them: queries/rollups/mark_stale_customers) and those with an
  invoice-day entering or leaving the window between the two dates;
* **built**: every customer, from the window (no rollups yet, a rebuild of the aggregates discarded them, the
  lookback changed, or the date moved more than ROLL_AT_MOST_DAYS: then reading the window is cheaper);
* **kept**: a run for an earlier date than the rollups' (a backfill, a rebuild of a past night) leaves them
  as they are; its features read the window (queries/features/compute_rfm_features).

Recency and tenure move for everyone every day: the feature query computes them from its as-of date, never stored.
The feature query reads the rollups only when they describe its date and lookback and no fold marked a customer
since (`usable`); otherwise it reads the window, so features are exact either way.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from segflow.storage.db import Database, run_named

log = logging.getLogger(__name__)

# Moving the rollups d days recomputes the customers of 2d invoice-days (entering and leaving); past a week of
# missed nights, building them from the window's days costs about the same and is simpler to reason about.
ROLL_AT_MOST_DAYS = 7


@dataclass(frozen=True)
class Roll:
    """What bringing the rollups to a date did: 'built' (and why), 'rolled' from an earlier date, 'current' (same
    date, nothing marked), 'kept' (the run is for an earlier date than the rollups'), with the customers recomputed."""

    action: str
    customers: int = 0
    from_as_of: date | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The non-empty fields, dates as text (what a run records)."""
        return {k: (str(v) if isinstance(v, date) else v) for k, v in asdict(self).items() if v}


def bring_to(db: Database, as_of: date, lookback_days: int) -> Roll:
    """Bring the rollups to the window of `lookback_days` days (at least 1: Settings checks it) ending `as_of` (see
    the module), in one transaction; call it after the aggregates were folded."""
    with db.transaction() as cur:
        roll = _bring_to(cur, as_of, lookback_days)
    log.info("rollups as of %s (%s days): %s", as_of, lookback_days, roll)
    return roll


def _bring_to(cur: Any, as_of: date, lookback_days: int) -> Roll:
    state = run_named(cur, "queries/rollups/rollup_state")
    if not state:
        return _build(cur, as_of, lookback_days, "no rollups yet")
    rolled_as_of, rolled_lookback = state[0]
    if as_of < rolled_as_of:
        return Roll("kept", from_as_of=rolled_as_of, reason="the run is for an earlier date than the rollups")
    if rolled_lookback != lookback_days:
        return _build(cur, as_of, lookback_days, f"the lookback changed from {rolled_lookback} days")
    if (as_of - rolled_as_of).days > ROLL_AT_MOST_DAYS:
        return _build(cur, as_of, lookback_days, f"more than {ROLL_AT_MOST_DAYS} days since {rolled_as_of}")
    return _roll(cur, rolled_as_of, as_of, lookback_days)


def _build(cur: Any, as_of: date, lookback_days: int, reason: str) -> Roll:
    run_named(cur, "queries/features/tune_feature_aggregation")
    run_named(cur, "queries/rollups/create_rolling_customers")
    run_named(cur, "queries/rollups/clear_rollups")
    window = {"as_of": as_of, "lookback_days": lookback_days}
    run_named(cur, "queries/rollups/insert_rollups", {**window, "everything": True})
    customers = cur.rowcount
    run_named(cur, "queries/rollups/record_rollup_state", window)
    run_named(cur, "queries/rollups/analyze_rollups")
    return Roll("built", customers=customers, reason=reason)


def _roll(cur: Any, from_as_of: date, as_of: date, lookback_days: int) -> Roll:
    window = {"as_of": as_of, "lookback_days": lookback_days}
    run_named(cur, "queries/rollups/tune_roll")
    run_named(cur, "queries/rollups/create_rolling_customers")
    run_named(cur, "queries/rollups/take_rolling_customers", {**window, "from_as_of": from_as_of})
    customers = cur.rowcount
    if customers:
        run_named(cur, "queries/rollups/analyze_rolling_customers")
        run_named(cur, "queries/rollups/delete_rolled_rollups")
        run_named(cur, "queries/rollups/insert_rollups", {**window, "everything": False})
    run_named(cur, "queries/rollups/record_rollup_state", window)
    if customers == 0 and from_as_of == as_of:
        return Roll("current")
    return Roll("rolled", customers=customers, from_as_of=from_as_of)


def usable(cur: Any, as_of: date, lookback_days: int) -> bool:
    """Whether the feature query may read the rollups for this date and lookback (inside its transaction)."""
    rows = run_named(cur, "queries/rollups/rollups_usable", {"as_of": as_of, "lookback_days": lookback_days})
    return bool(rows[0][0])


def mark_stale(cur: Any) -> None:
    """Inside a fold, after its keys were recomputed: mark their customers for the next roll."""
    run_named(cur, "queries/rollups/mark_stale_customers")


def discard(cur: Any) -> None:
    """Inside a rebuild of the aggregates: no rollups until the next night builds them."""
    run_named(cur, "queries/rollups/discard_rollups")
