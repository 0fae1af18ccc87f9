"""Report retention: the HTML files of the newest published runs stay, older ones are deleted, and so do the
drift samples of older runs (segflow.monitoring.run_sample).

Files are what grows (about 12 MB a run: two Evidently reports and the segment page); a run's sample is about 3 MB
at 20,000 customers. The other database rows they were built from stay, so a run's segment page can be built
again with `segflow report --run` (its map and drift figures from its rows while they are there).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from segflow.monitoring import run_sample
from segflow.settings import Settings
from segflow.storage.db import Database

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


def prune_samples(db: Database, settings: Settings) -> list[int]:
    """Drop the drift samples and counts of every attempt but those of the newest `report_retention_runs` published
    runs, the ones still running and the ones a model was trained in; the attempts dropped (0 keeps all)."""
    return run_sample.prune(db, settings.report_retention_runs)
