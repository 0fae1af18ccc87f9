"""Retention: the HTML files and drift samples of the newest published runs stay, older ones are deleted; so do the
per-customer rows.

Report files are about 12 MB a run (two Evidently reports and the segment page); a run's drift sample about 3 MB at
20,000 customers (segflow.monitoring.run_sample). The per-customer rows (features and
assignments, about 365 MB a night at 1M customers) live in one table per attempt (segflow.storage.attempt_tables):
those of attempts retention does not keep are dropped whole, and the attempt records when (rows_dropped_at), so a
reader of an old run can say its rows are gone. A run's segment page can be built again with `segflow report --run`
while its rows are kept.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from segflow.monitoring import run_sample
from segflow.settings import Settings
from segflow.storage import attempt_tables
from segflow.storage.db import Database, run_named

log = logging.getLogger(__name__)

# run-<id>.html (segment pages), run-<id>-vs-<reference>.html, run-<id>-transitions.html and reports waiting
# for their attempt's publish, run-<id>-vs-<reference>.attempt-<attempt>.html (drift/)
_RUN_FILE = re.compile(r"^run-(\d+)(?:-[a-z-]+)?(?:\.attempt-\d+)?\.html$")
REPORT_FOLDERS = ("segments", "drift")


def report_files(settings: Settings) -> dict[int, list[Path]]:
    """The report files on disk, by run id."""
    found: dict[int, list[Path]] = {}
    for folder in REPORT_FOLDERS:
        directory = settings.report_path / folder
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            match = _RUN_FILE.match(path.name)
            if match:
                found.setdefault(int(match.group(1)), []).append(path)
    return found


def prune_reports(db: Database, settings: Settings) -> list[Path]:
    """Delete the report files of every run but the newest `report_retention_runs` published ones; the deleted."""
    if settings.report_retention_runs == 0:
        return []
    kept = {
        run_id for (run_id,) in db.run("queries/runs/published_runs_newest_first")[: settings.report_retention_runs]
    }
    deleted = []
    for run_id, paths in report_files(settings).items():
        if run_id in kept:
            continue
        for path in paths:
            path.unlink(missing_ok=True)
            deleted.append(path)
    if deleted:
        log.info(
            "report retention (%d runs): deleted %d files of older runs", settings.report_retention_runs, len(deleted)
        )
    return deleted


def prune_attempt_rows(db: Database, settings: Settings) -> list[int]:
    """Drop the per-customer tables of every attempt retention does not keep: kept are the attempt BI reads, the
    published attempts of the newest `scored_runs_kept` runs by as-of date (all published ones when 0) and every
    attempt not finished; replaced and failed attempts' rows always go. The attempts whose rows were dropped."""
    with db.transaction() as cur:
        # Listed before the kept set: an attempt that starts in between is running when the kept set is read.
        candidates = attempt_tables.attempts_with_tables(cur)
        kept_rows = run_named(cur, "queries/attempt_tables/kept_attempts", {"kept": settings.scored_runs_kept})
        kept = {attempt_id for (attempt_id,) in kept_rows}
        dropped = attempt_tables.drop(cur, [a for a in candidates if a not in kept])
        if not any(a < attempt_tables.first_own_attempt(cur) for a in kept):
            dropped += attempt_tables.drop_before_016(cur)
        run_named(cur, "queries/attempt_tables/record_rows_dropped", {"attempt_ids": dropped})
    if dropped:
        log.info(
            "retention (%d runs kept): dropped the per-customer rows of attempts %s", settings.scored_runs_kept, dropped
        )
    return dropped


def prune_samples(db: Database, settings: Settings) -> list[int]:
    """Drop the drift samples and counts of every attempt but those of the newest `report_retention_runs` published
    runs, the ones still running and the ones a model was trained in; the attempts dropped (0 keeps all)."""
    return run_sample.prune(db, settings.report_retention_runs)
