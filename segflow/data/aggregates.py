"""Aggregates kept current as lines arrive, so that a night costs what changed, not all history.

Three tables (sql/migrations/009_line_aggregates.sql), each exact, never approximate:

* ``invoice_day_totals``: one row per (customer, invoice, UTC day), every rule of sql/staging applied once;
* ``customer_firsts``: each known customer's first line day and first purchase;
* ``daily_line_totals``: the data-quality counts of each day.

How they stay current depends on the source:

* **segflow.transactions** (the default): statement triggers record the keys of every line inserted, updated or
  deleted, by segflow or anyone else (sql/functions/capture_line_changes.sql). A *fold* takes those keys and
  recomputes their rows from their lines, then the touched customers and days. Imports fold inside their own
  transaction; a night folds whatever arrived another way first. Recomputing a key from all its lines (rather
  than adding the new ones) is what keeps duplicates, re-imports, late lines and deletions exact.
* **any other table or view** (SEGFLOW_SOURCE_TABLE): no triggers can be assumed, so a night re-reads the days
  from its watermark (the newest day already folded) minus SEGFLOW_SOURCE_RESCAN_DAYS, for rows that arrive
  late; anything older changes only with a full rebuild.

A **rebuild** recomputes everything from the lines: on first use, after a truncate, when the source changes,
and whenever asked (`segflow rebuild`, the weekly-rebuild deployment).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from psycopg2 import sql

from segflow.data import rollups
from segflow.data.staging import staged_lines
from segflow.settings import DEFAULT_SOURCE, Settings
from segflow.storage.db import Database, run_composed_named, run_named
from segflow.storage.sqlfiles import read_sql

log = logging.getLogger(__name__)

# Folds that change more keys than this refresh the planner's statistics (the night's feature query is planned on
# them; a million-row table planned as empty ran for half an hour once).
_ANALYZE_AFTER_KEYS = 10_000


@dataclass(frozen=True)
class Fold:
    """What bringing the aggregates current did: 'rebuilt' (and why), 'folded' keys, 'rescanned' days, or
    'current'."""

    action: str
    keys: int = 0
    from_day: date | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The non-empty fields, dates as text (what a run records)."""
        return {k: (str(v) if isinstance(v, date) else v) for k, v in asdict(self).items() if v}


@dataclass(frozen=True)
class _State:
    source_table: str | None
    needs_rebuild: bool
    rebuild_reason: str | None
    watermark_day: date | None


def bring_current(db: Database, settings: Settings, *, rebuild: bool = False) -> Fold:
    """Fold every change since the last fold into the aggregates of the configured source (or rebuild them when
    asked, when they were never built, after a truncate, or when the source changed), in one transaction."""
    with db.transaction() as cur:
        return _bring_current(cur, settings.source_table, settings.source_rescan_days, rebuild=rebuild)


def fold_imported_lines(cur: Any) -> Fold:
    """Inside an import's transaction: fold the lines it wrote, when the aggregates follow segflow.transactions
    (else the next night's fold, or rebuild, takes them)."""
    state = _state(cur)
    if state.source_table not in (None, DEFAULT_SOURCE):
        return Fold("current", reason=f"the aggregates follow {state.source_table}")
    return _bring_current(cur, DEFAULT_SOURCE, 0, rebuild=False, state=state)


def _bring_current(cur: Any, source: str, rescan_days: int, *, rebuild: bool, state: _State | None = None) -> Fold:
    state = state or _state(cur)
    run_named(cur, "queries/aggregates/tune_fold")
    run_named(cur, "queries/aggregates/create_folding_keys")
    reason = _rebuild_reason(state, source, rebuild)
    if reason is not None:
        fold = _rebuild(cur, source, reason)
    elif source == DEFAULT_SOURCE:
        fold = _fold_changed_keys(cur)
    else:
        fold = _rescan(cur, source, state.watermark_day, rescan_days)
    if fold.action != "current":
        run_named(cur, "queries/aggregates/record_fold", {"source_table": source, "rebuilt": fold.action == "rebuilt"})
    if fold.action == "rebuilt" or fold.keys > _ANALYZE_AFTER_KEYS:
        run_named(cur, "queries/aggregates/analyze_aggregates")
    log.info("aggregates of %s: %s", source, fold)
    return fold


def _state(cur: Any) -> _State:
    return _State(*run_named(cur, "queries/aggregates/aggregate_state")[0])


def _rebuild_reason(state: _State, source: str, asked: bool) -> str | None:
    if asked:
        return "asked"
    if state.needs_rebuild:
        return state.rebuild_reason or "marked for rebuild"
    if state.source_table != source:
        return f"the source changed from {state.source_table} to {source}"
    return None


def _rebuild(cur: Any, source: str, reason: str) -> Fold:
    run_named(cur, "queries/aggregates/discard_changed_keys")
    run_named(cur, "queries/aggregates/truncate_aggregates")
    _insert_totals(cur, _lines_from_day(source, None), {"from_day": None}, record_keys=False)
    _refresh(cur, everything=True)
    return Fold("rebuilt", reason=reason)


def _fold_changed_keys(cur: Any) -> Fold:
    run_named(cur, "queries/aggregates/take_changed_keys")
    keys = cur.rowcount
    if keys == 0:
        return Fold("current")
    run_named(cur, "queries/aggregates/delete_totals_of_keys")
    lines = sql.SQL("({})").format(sql.SQL(read_sql("queries/aggregates/lines_of_folding_keys")))
    _insert_totals(cur, lines, {}, record_keys=True)
    _refresh(cur, everything=False)
    return Fold("folded", keys=keys)


def _rescan(cur: Any, source: str, watermark: date | None, rescan_days: int) -> Fold:
    # Keys of segflow.transactions mean nothing to another source's aggregates.
    run_named(cur, "queries/aggregates/discard_changed_keys")
    from_day = watermark - timedelta(days=rescan_days) if watermark is not None else None
    params = {"from_day": from_day}
    run_named(cur, "queries/aggregates/delete_totals_from_day", {"from_day": from_day or date.min})
    _insert_totals(cur, _lines_from_day(source, from_day), params, record_keys=True)
    _refresh(cur, everything=False)
    keys = run_named(cur, "queries/aggregates/count_folding_keys")[0][0]
    return Fold("rescanned", keys=keys, from_day=from_day)


def _lines_from_day(source: str, from_day: date | None) -> sql.Composable:
    relation = sql.Identifier(*source.split("."))
    return sql.SQL("({})").format(sql.SQL(read_sql("queries/aggregates/lines_from_day")).format(source=relation))


def _insert_totals(cur: Any, lines_source: sql.Composable, params: dict[str, Any], *, record_keys: bool) -> None:
    run_composed_named(
        cur, "queries/aggregates/insert_totals", {**params, "record_keys": record_keys}, **staged_lines(lines_source)
    )


def _refresh(cur: Any, *, everything: bool) -> None:
    run_named(cur, "queries/aggregates/refresh_customer_firsts", {"everything": everything})
    run_named(cur, "queries/aggregates/refresh_daily_totals", {"everything": everything})
    run_named(cur, "queries/aggregates/drop_empty_days")
    # The per-customer rollups of the window (segflow.data.rollups) follow the aggregates.
    if everything:
        rollups.discard(cur)
    else:
        rollups.mark_stale(cur)


def is_current_for(db: Database, settings: Settings) -> bool:
    """True when the aggregates follow the configured source and need no rebuild (pending keys aside)."""
    state = summary(db)
    return state["source_table"] == settings.source_table and not state["needs_rebuild"]


def summary(db: Database) -> dict[str, Any]:
    """What the aggregates reflect: source, whether a rebuild is due and why, watermark, last fold and rebuild,
    keys waiting to be folded, customers."""
    return db.records("queries/aggregates/aggregate_summary")[0]
