"""What a segflow flow run holds while it runs: its database's run slot and its time limit.

The run slot is a Prefect global concurrency limit of 1 named after the database (slot_name). Every segflow flow
run takes it before its first stage, whichever deployment or command started it, so at most one run per
database trains, promotes and publishes at a time: on Sundays `weekly-retrain` waits for `nightly` instead of
training a second challenger beside it. Prefect 3.8 skips a limit that does not exist (with a warning), so the
slot is created on first use, and `segflow prefect setup` creates it ahead of the first run. Two segflow
databases on one Prefect server have two slots and never wait for each other.

The slot is held through a lease the run renews in the background: a run killed with `kill -9` frees it when the
lease lapses (LEASE_SECONDS), not never. A run that cannot renew its lease (the Prefect server gone for longer than
Prefect's renewal retries) is stopped rather than left running unguarded beside the next one.

The time limit (SEGFLOW_FLOW_TIMEOUT_SECONDS) covers the wait for the slot too, so a run queued behind a hung one
ends at its own limit instead of waiting for ever.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, unquote, urlsplit
from uuid import UUID

from segflow.errors import SegflowError
from segflow.settings import Settings

log = logging.getLogger(__name__)

SLOT_PREFIX = "segflow-run-"
# Prefect's default lease; the server accepts 60 s to a day. A killed run's slot is free again this long after its
# last renewal (renewals come every three quarters of it), plus the server's repossessor loop.
LEASE_SECONDS = 300


class RunTimedOut(SegflowError, TimeoutError):
    """A flow run went past SEGFLOW_FLOW_TIMEOUT_SECONDS. A TimeoutError, so Prefect records the run TimedOut."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        super().__init__(f"the run went past its time limit of {seconds} s (SEGFLOW_FLOW_TIMEOUT_SECONDS)")


class _Expired(TimeoutError):
    """Raised by Prefect's timeout scope; turned into RunTimedOut with the setting's name."""


def slot_name(database_url: str) -> str:
    """The run slot's name for a database: segflow-run-<database>-<hash of host, port and database>.

    The hash tells apart databases of one name on different servers; the password and other options never
    enter it, so workers that connect with different credentials share the slot.
    """
    parts = urlsplit(database_url)
    if not parts.scheme.startswith("postgres"):
        raise ValueError(f"not a postgresql:// URL: scheme {parts.scheme!r}")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    # libpq takes host, port and dbname from the query too (the embedded server's socket folder is host=...).
    host = parts.hostname or query.get("host", "")
    port = parts.port or int(query.get("port") or 5432)
    database = (
        unquote(parts.path.lstrip("/")) or query.get("dbname") or parts.username or query.get("user") or "postgres"
    )
    digest = hashlib.sha256(f"{host}:{port}/{database}".encode()).hexdigest()[:10]
    readable = re.sub(r"[^a-z0-9]+", "-", database.lower()).strip("-")[:40] or "db"
    return f"{SLOT_PREFIX}{readable}-{digest}"


def ensure_slot(name: str) -> bool:
    """Create the run slot `name` (a global concurrency limit of 1) on the Prefect API if it is missing; returns
    whether it was created. A slot an operator changed (its limit, or disabled) is left as it is."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
            return False
        except ObjectNotFound:
            pass
        try:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
        except ObjectAlreadyExists:  # another run created it a moment ago: the same slot
            return False
    log.info("created the run slot %s (a Prefect global concurrency limit of 1)", name)
    return True


@contextlib.contextmanager
def holding_slot(name: str, flow_run_id: UUID | None = None) -> Iterator[None]:
    """Hold the run slot `name` for the block, waiting for it while another run holds it."""
    from prefect.client.schemas.objects import ConcurrencyLeaseHolder
    from prefect.concurrency.sync import concurrency

    ensure_slot(name)
    holder = ConcurrencyLeaseHolder(type="flow_run", id=flow_run_id) if flow_run_id else None
    # strict=False: a slot an operator disabled (`prefect gcl disable`) lets runs overlap, as they asked. Losing
    # the lease, though, stops the run: past it another run may take the slot.
    with concurrency(name, occupy=1, lease_duration=LEASE_SECONDS, holder=holder, raise_on_lease_renewal_failure=True):
        yield


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Raise RunTimedOut in the block once it has run `seconds` (0: no limit).

    Prefect's own timeout scope, which in the main thread interrupts Python code with SIGALRM; a call blocked in C
    (a long SQL statement) is interrupted when it returns to Python.
    """
    from prefect.utilities.timeout import timeout

    if seconds <= 0:
        yield
        return
    try:
        with timeout(seconds=seconds, timeout_exc_type=_Expired):
            yield
    except _Expired:
        raise RunTimedOut(seconds) from None


@contextlib.contextmanager
def one_run_per_database() -> Iterator[None]:
    """For a flow's whole run: SEGFLOW_FLOW_TIMEOUT_SECONDS as its time limit, and its database's run slot held.

    Settings are read when the run starts, not at import: a worker picks up a changed setting at its next run.
    """
    from prefect import get_run_logger
    from prefect.runtime import flow_run

    from segflow.storage.db import Database

    settings = Settings()
    with time_limit(settings.flow_timeout_seconds):
        name = slot_name(Database(settings).url)
        # Said before the wait, so a run queued behind another shows in its log why it has not begun.
        get_run_logger().info("taking the run slot %s: one segflow run per database at a time", name)
        run_id = flow_run.id
        with holding_slot(name, UUID(run_id) if run_id else None):
            yield
