"""Customer partitions: the nightly's per-customer work (features, scoring, assignment writes) split by a hash of
customer_id (sql/functions/customer_partition.sql), and where those partitions run (one process, or Dask)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from psycopg2 import sql

from segflow.settings import Settings

if TYPE_CHECKING:
    from prefect.task_runners import TaskRunner


@dataclass(frozen=True)
class Partition:
    """Partition `index` of `count` (0 <= index < count). Picklable: it travels to Dask workers as a task argument."""

    index: int
    count: int

    def params(self) -> dict[str, int]:
        """The bound parameters the partitioned SQL files filter on."""
        return {"partition": self.index, "partitions": self.count}

    def predicate(self, column: str = "customer_id") -> sql.Composable:
        """The SQL test that a row's customer is in this partition (true for a single partition)."""
        if self.count == 1:
            return sql.SQL("true")
        return sql.SQL("segflow.customer_partition({}, {}) = {}").format(
            sql.Identifier(column), sql.Literal(self.count), sql.Literal(self.index)
        )

    def __str__(self) -> str:
        return f"{self.index + 1}/{self.count}"


WHOLE = Partition(0, 1)


def partitions_of(settings: Settings) -> list[Partition]:
    """Every partition of the configured split, in order."""
    return [Partition(i, settings.partitions) for i in range(settings.partitions)]


def local_workers(settings: Settings) -> int | None:
    """N of a `local:N` Dask address, else None."""
    if settings.dask_address.startswith("local:"):
        return int(settings.dask_address.removeprefix("local:"))
    return None


def dask_task_runner(settings: Settings, prefect_api_url: str | None) -> TaskRunner:
    """The Prefect task runner for SEGFLOW_DASK_ADDRESS: a LocalCluster of N worker processes on loopback, or a
    client of a running scheduler. Workers report their task runs to `prefect_api_url`: without it each would
    start its own temporary Prefect API and its task runs would never reach the flow (PrefectHQ/prefect#19925)."""
    from prefect_dask import DaskTaskRunner  # the [dask] extra; imported only when partitions go to Dask

    workers = local_workers(settings)
    if workers is None:
        return DaskTaskRunner(address=settings.dask_address)
    # A LocalCluster's scheduler and nannies live in this process: their start/stop chatter (some 30 INFO lines
    # a night) would bury the run's own log. Warnings and errors still show.
    logging.getLogger("distributed").setLevel(logging.WARNING)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": workers,
            "threads_per_worker": 1,  # each partition is one database session and one CPU's worth of pandas
            "processes": True,
            "host": "127.0.0.1",
            "dashboard_address": None,
            # Worker processes inherit this process's environment (the database URL or SEGFLOW_HOME), but not
            # the API URL segflow may have set only inside this process's Prefect settings.
            "env": worker_environment(prefect_api_url),
        }
    )


def worker_environment(prefect_api_url: str | None) -> dict[str, Any]:
    """Environment for LocalCluster workers: the flow's Prefect API, so their task runs land under the flow, and
    Dask's own logging at warnings."""
    env: dict[str, Any] = {"DASK_LOGGING__DISTRIBUTED": "warning"}
    if prefect_api_url and not os.environ.get("PREFECT_API_URL"):
        env["PREFECT_API_URL"] = prefect_api_url
    return env
