"""Running a flow from a command: which Prefect API it reports to, links into its UI, quiet failures, and where
Prefect's logs of its runs go (the API, a log file, the terminal only when asked).

The API is the one the user configured (PREFECT_API_URL or a Prefect profile), else segflow's embedded server
(segflow.orchestration.prefect_server), which outlives the command. Either way the command is a client: nothing
here starts or stops a process.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from segflow.storage.private_files import private_folder

log = logging.getLogger(__name__)

# Prefect's own override of the `console` handler's level in its logging.yml (PREFECT_LOGGING_[PATH]_[TO]_[KEY]).
CONSOLE_LEVEL_SETTING = "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"
# A run writes about 40 lines (4 KB): 5 MB holds about a thousand runs, and two older files are kept.
RUN_LOG_BYTES = 5_000_000
RUN_LOG_BACKUPS = 2


def configured_api_url() -> str | None:
    """The Prefect API the user configured (PREFECT_API_URL or a Prefect profile), if any."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


@contextlib.contextmanager
def reporting_to(api_url: str | None) -> Iterator[None]:
    """Flow runs in the block report to `api_url` (None: the configured API); their logs and events are sent
    before the block ends."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    updates = {PREFECT_API_URL: api_url} if api_url else {}
    with temporary_settings(updates=updates):
        try:
            yield
        finally:
            _drain_to_api()


def ui_url() -> str | None:
    """The address of the Prefect UI of the API flow runs report to (inside reporting_to)."""
    from prefect.settings import PREFECT_UI_URL

    return PREFECT_UI_URL.value() or None


def flow_run_url(flow_run_id: UUID) -> str | None:
    """The flow run's page in the Prefect UI (inside reporting_to)."""
    from prefect.utilities.urls import url_for

    return url_for("flow-run", obj_id=flow_run_id)


def _drain_to_api() -> None:
    """Send the logs and events still queued for the API before the command ends (else Prefect reports them
    lost)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        try:
            worker.drain_all(timeout=5)
        except Exception as exc:  # losing a log line must not fail the command
            log.debug("could not drain %s: %r", worker.__name__, exc)


class _DropRunErrors(logging.Filter):
    """Drops flow- and task-run failure records (ERROR records with their tracebacks, and the INFO line that
    repeats the error as the final state) from the console: the command words the error itself. They still
    reach the Prefect API's log store."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(("prefect.flow_runs", "prefect.task_runs")):
            return True
        return record.levelno < logging.ERROR and "Finished in state Failed" not in record.getMessage()


@contextlib.contextmanager
def quiet_run_errors() -> Iterator[None]:
    """While the block runs, flow and task failures are not printed to the console by Prefect's handlers."""
    import prefect.logging.handlers as prefect_handlers
    import prefect.main  # noqa: F401 - importing it configures Prefect's console handlers, filtered below

    consoles = [h for h in logging.getLogger().handlers if isinstance(h, prefect_handlers.PrefectConsoleHandler)]
    dropper = _DropRunErrors()
    for handler in consoles:
        handler.addFilter(dropper)
    try:
        yield
    finally:
        for handler in consoles:
            handler.removeFilter(dropper)


@dataclass(frozen=True)
class StageDone:
    """A task run of a flow that ended: its name, whether it completed, and its wall time as seen here."""

    name: str
    completed: bool
    seconds: float


class _StageTimer(logging.Handler):
    """Turns Prefect's "Finished in state ..." record of each task run into a StageDone.

    A task run logs nothing when it starts, so its time is measured from the previous record of the same runs (the
    flow's line after the previous task, or that task's own end): the stages of a flow run one after another in
    this process, so that is the task's wall time, Prefect's bookkeeping of it included. Task runs on Dask workers
    log in their own processes: their time shows in the next stage that runs here.
    """

    def __init__(self, on_stage: Callable[[StageDone], None]) -> None:
        super().__init__(level=logging.INFO)
        self.on_stage = on_stage
        self.last: float | None = None

    def emit(self, record: logging.LogRecord) -> None:
        name = getattr(record, "task_run_name", None)
        if name is not None and record.getMessage().startswith("Finished in state"):
            task_name = getattr(record, "task_name", "")
            # Stage tasks get Prefect's generated run names (prepare.begin-314); partitions their own (1/4).
            shown = task_name if name.startswith(f"{task_name}-") else name
            seconds = record.created - self.last if self.last is not None else 0.0
            self.on_stage(StageDone(shown, record.levelno < logging.ERROR, max(seconds, 0.0)))
        self.last = record.created


@contextlib.contextmanager
def run_logs(log_file: Path, on_stage: Callable[[StageDone], None] | None) -> Iterator[None]:
    """Prefect's logs of the flow runs in the block go to its API (as always) and to `log_file` (rotated); with
    `on_stage`, the terminal gets only Prefect's warnings and errors, and `on_stage` hears of each task run that
    ends. Without it (verbose), the terminal gets every line, as Prefect prints them by default."""
    from prefect.logging.configuration import setup_logging
    from prefect.logging.formatters import PrefectFormatter

    private_folder(log_file.parent)
    to_file = logging.handlers.RotatingFileHandler(log_file, maxBytes=RUN_LOG_BYTES, backupCount=RUN_LOG_BACKUPS)
    # Prefect's own layout (logging.yml's `standard`), with the day: the file spans many runs.
    to_file.setFormatter(
        PrefectFormatter(
            format="%(asctime)s | %(levelname)-7s | %(name)s - %(message)s",
            flow_run_fmt="%(asctime)s | %(levelname)-7s | Flow run %(flow_run_name)r - %(message)s",
            task_run_fmt="%(asctime)s | %(levelname)-7s | Task run %(task_run_name)r - %(message)s",
            datefmt="%Y-%m-%d %H:%M:%S",
        )
    )
    handlers: list[logging.Handler] = [to_file]
    if on_stage is not None:
        handlers.append(_StageTimer(on_stage))
    # The flow- and task-run loggers (prefect.flow_runs, prefect.task_runs) propagate through `prefect`.
    prefect_logger = logging.getLogger("prefect")
    quiet = on_stage is not None and CONSOLE_LEVEL_SETTING not in os.environ  # a user's own level is kept
    levels = {h: h.level for h in logging.getLogger().handlers}
    if quiet:
        os.environ[CONSOLE_LEVEL_SETTING] = "WARNING"
        setup_logging()  # Prefect re-reads its logging.yml with the override (incrementally: levels only)
    for handler in handlers:
        prefect_logger.addHandler(handler)
    try:
        yield
    finally:
        for handler in handlers:
            prefect_logger.removeHandler(handler)
        to_file.close()
        if quiet:
            del os.environ[CONSOLE_LEVEL_SETTING]
            # Set back by hand: an incremental setup skips logging.yml's `level: 0` (falsy), so it cannot undo.
            for handler, level in levels.items():
                handler.setLevel(level)
