"""Running a flow from a command: which Prefect API it reports to, links into its UI, and quiet failures.

The API is the one the user configured (PREFECT_API_URL or a Prefect profile), else segflow's embedded server
(segflow.prefect_server), which outlives the command. Either way the command is a client: nothing here starts
or stops a process.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from uuid import UUID

log = logging.getLogger(__name__)


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
