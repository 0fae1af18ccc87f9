"""The nightly's partitions on a real Dask cluster: `dask scheduler` and two `dask worker` processes on loopback,
workers reporting to the session's Prefect server. The published segments equal a one-process run's, every
partition's task run is recorded under the flow run, and a worker killed mid-run changes nothing.

Every process is started here with its own environment and stopped by PID in the teardown."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from uuid import UUID

import psutil
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.settings import PREFECT_API_URL, temporary_settings
from support.coverage import unmeasured
from support.databases import fresh_database, settings_for

from segflow.data.generate import GeneratorSpec, generate_transactions
from segflow.stages import run_nightly
from segflow.storage.db import Database

pytestmark = pytest.mark.slow

SUPPORT = Path(__file__).resolve().parents[1] / "support"
DASK = Path(sys.executable).with_name("dask")
SPEC = GeneratorSpec(customers=3_000, days=200, seed=31, start=date(2024, 1, 1))
AS_OF = "2024-07-18"
PARTITIONS = 4
AS_TEXT = "select md5(string_agg(s::text, E'\\n' order by customer_id)) from segflow.current_segments as s"


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@contextlib.contextmanager
def dask_cluster(env: dict[str, str], logs: Path) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """A scheduler and two single-threaded workers (no nanny: a killed worker stays dead); stopped by PID."""
    port = _free_loopback_port()
    address = f"tcp://127.0.0.1:{port}"
    started: list[subprocess.Popen] = []

    def start(name: str, *args: str) -> subprocess.Popen:
        out = (logs / f"{name}.log").open("w")
        # The workers run segflow's partitions and are measured; the scheduler runs none of segflow's code.
        child_env = unmeasured(env) if args[0] == "scheduler" else env
        process = subprocess.Popen([str(DASK), *args], env=child_env, stdout=out, stderr=subprocess.STDOUT)
        started.append(process)
        return process

    try:
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard")
        _wait_for(lambda: "Scheduler at:" in (logs / "scheduler.log").read_text(), 60, "the scheduler")
        workers = [
            start(
                f"worker-{n}",
                "worker",
                address,
                "--host",
                "127.0.0.1",
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--name",
                f"worker-{n}",
                "--preload",
                str(SUPPORT / "slow_partitions.py"),
            )
            for n in (1, 2)
        ]
        for n in (1, 2):
            _wait_for(
                lambda n=n: "Registered to:" in (logs / f"worker-{n}.log").read_text(), 120, f"worker {n} to register"
            )
        yield address, workers
    finally:
        for process in reversed(started):
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        for process in started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def twin(server_url: str, template_database: str, tmp_path: Path) -> Iterator[Database]:
    urls = fresh_database(server_url, template_database)
    database = Database(settings_for(next(urls), tmp_path / "twin-home"))
    database.migrated = True
    yield database
    next(urls, None)


def _task_runs_of(api_url: str, flow_run_id: UUID) -> list[tuple[str, str]]:
    async def read() -> list[tuple[str, str]]:
        async with get_client() as client:
            runs = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
            return [(run.name, run.state_name or "") for run in runs]

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        return asyncio.run(read())


def test_the_nightly_on_a_dask_scheduler_and_two_workers_equals_one_process_even_when_a_worker_dies(
    db, db_url, twin, settings, prefect_api_url, tmp_path, fetch
) -> None:
    generate_transactions(db, SPEC)
    generate_transactions(twin, SPEC)
    run_nightly(twin, settings_for(twin.url, tmp_path / "twin-home"), date.fromisoformat(AS_OF))

    markers = tmp_path / "markers"
    markers.mkdir()
    logs = tmp_path / "logs"
    logs.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEGFLOW_", "PREFECT_"))}
    env.update(
        SEGFLOW_DATABASE_URL=db_url,
        SEGFLOW_HOME=str(tmp_path / "home"),
        PREFECT_API_URL=prefect_api_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        SEGFLOW_TEST_MARKERS=str(markers),
    )
    with dask_cluster(env, logs) as (address, workers):
        run_env = {**env, "SEGFLOW_DASK_ADDRESS": address, "SEGFLOW_PARTITIONS": str(PARTITIONS)}
        out = (logs / "run.log").open("w")
        run = subprocess.Popen(
            [sys.executable, "-m", "segflow", "run", "--as-of", AS_OF],
            env=run_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            # The first score partition written: kill the worker holding it before it reports back.
            written = _wait_for(lambda: sorted(markers.glob("written-*")), 300, "a score partition to be written")
            victim = int(written[0].name.rsplit("-", 1)[1])
            assert victim in {w.pid for w in workers}
            os.kill(victim, signal.SIGKILL)
            assert run.wait(timeout=300) == 0, (logs / "run.log").read_text()[-5000:]
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
        survivor = next(w for w in workers if w.pid != victim)
        assert survivor.poll() is None
        assert not psutil.pid_exists(victim) or psutil.Process(victim).status() == "zombie"
    output = (logs / "run.log").read_text()

    # The same published segments as one process computed, byte for byte, with no partition written twice.
    assert fetch(db, AS_TEXT) == fetch(twin, AS_TEXT)
    assert fetch(db, "select count(*), count(distinct customer_id) from segflow.current_segments") == [(3_000, 3_000)]

    # The killed worker's partition ran again, on the survivor.
    rewritten = {m.name.split("-")[1] for m in markers.glob(f"written-*-{survivor.pid}")}
    assert written[0].name.split("-")[1] in rewritten

    # Every partition's task run is recorded under the flow run, completed.
    flow_run_id = UUID(re.search(r"/runs/flow-run/([0-9a-f-]{36})", output).group(1))
    task_runs = _task_runs_of(prefect_api_url, flow_run_id)
    for stage in ("features.build_partition", "score.score_partition"):
        for n in range(1, PARTITIONS + 1):
            states = [state for name, state in task_runs if name == f"{stage} {n}/{PARTITIONS}"]
            assert "Completed" in states, (stage, n, task_runs)
