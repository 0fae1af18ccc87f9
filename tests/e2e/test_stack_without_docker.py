"""The production topology without Docker, for real: `prefect server start`, the `segflow-process` work pool,
`prefect deploy --all` from the checkout, a process worker carrying SEGFLOW_DATABASE_URL, and nightly flow runs
that publish into PostgreSQL: one started by `prefect deployment run`, one created by the server's scheduler from
a cron (Prefect 3.8's scheduler creates no run under SQLAlchemy 2.1, hence the pin in pyproject.toml).

Every process runs with an environment built here (never the test process's own PREFECT_* settings), talks to
the server over loopback only, and is stopped by PID in the teardown together with the flow-run processes the
worker spawned (those run in their own session, so killing the worker's process group alone would miss them).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import httpx
import psutil
import pytest
import yaml
from support.coverage import unmeasured
from support.waiting import poll

from segflow.data.generate import GeneratorSpec, generate_transactions

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PREFECT = Path(sys.executable).with_name("prefect")
AS_OF = "2025-06-29"
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, chars: int = 20_000) -> str:
    text = path.read_text(errors="replace") if path.exists() else "(no output)"
    return text[-chars:]


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class Stack:
    """The processes this test starts: each in its own session, output in a log file, stopped by PID."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.processes: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("wb")
        try:
            process = subprocess.Popen(
                args,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()  # the child has its own copy of the descriptor
        self.processes.append((name, process))
        return process

    def run(self, name: str, args: list[str], env: dict[str, str], cwd: Path, timeout: float = 180) -> str:
        """Run a CLI command to its end; its output, or an AssertionError with it."""
        process = self.start(name, args, env, cwd)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop(process)
            raise AssertionError(f"{' '.join(args[1:])} timed out after {timeout} s:\n{self.log(name)}") from None
        output = self.log(name)
        assert process.returncode == 0, f"{' '.join(args[1:])} exited {process.returncode}:\n{output}"
        return output

    def log(self, name: str) -> str:
        return _tail(self.logs / f"{name}.log")

    @staticmethod
    def _descendants(pid: int) -> list[psutil.Process]:
        try:
            return psutil.Process(pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    @staticmethod
    def _signal(process: subprocess.Popen, others: list[psutil.Process], signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)  # the session leader's group: pgid == pid
        for child in others:  # psutil checks the creation time, so a reused PID is never hit
            with contextlib.suppress(psutil.NoSuchProcess):
                child.send_signal(signum)

    def stop(self, process: subprocess.Popen, grace: float = 20) -> None:
        """SIGTERM the process, its group and every descendant (flow runs start their own session), then SIGKILL."""
        others = self._descendants(process.pid)
        self._signal(process, others, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            others = [p for p in others if _alive(p)]
            if process.poll() is not None and not others:
                break
            others += [p for p in self._descendants(process.pid) if p not in others]
            time.sleep(0.2)
        others += [p for p in self._descendants(process.pid) if p not in others]
        self._signal(process, others, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        psutil.wait_procs(others, timeout=10)

    def stop_all(self) -> None:
        for _name, process in reversed(self.processes):
            self.stop(process)


@pytest.fixture
def stack(tmp_path: Path, db_url: str):
    # Depends on db_url so that it is torn down first: the worker stops before the database is dropped.
    (tmp_path / "logs").mkdir()
    processes = Stack(tmp_path / "logs")
    try:
        yield processes
    finally:
        processes.stop_all()


def _environment(prefect_home: Path, api_url: str, **extra: str) -> dict[str, str]:
    """A subprocess environment: this one without any PREFECT_* / SEGFLOW_* variable, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SEGFLOW_"))}
    no_proxy = ",".join(filter(None, [env.get("NO_PROXY"), "127.0.0.1", "localhost"]))
    env.update(
        PATH=os.pathsep.join([str(PREFECT.parent), env.get("PATH", "")]),
        NO_PROXY=no_proxy,
        no_proxy=no_proxy,
        COLUMNS="200",  # rich wraps CLI output at 80 columns when it is not a terminal
        PREFECT_HOME=str(prefect_home),
        PREFECT_API_URL=api_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        **extra,
    )
    return env


def _listens_on(pid: int, port: int) -> bool:
    """Whether the process itself holds the listening socket (not some other server that took the port)."""
    try:
        connections = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.NoSuchProcess:
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in connections)


def _wait_until_healthy(
    api: httpx.Client, server: subprocess.Popen, port: int, stack: Stack, timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"prefect server exited {server.returncode}:\n{stack.log('server')}")
        try:
            if api.get("/health").status_code == 200 and _listens_on(server.pid, port):
                return
        except httpx.TransportError:
            pass
        time.sleep(1)
    raise AssertionError(f"prefect server not healthy after {timeout} s:\n{stack.log('server')}")


def _flow_run_logs(api: httpx.Client, flow_run_id: str) -> str:
    try:
        response = api.post(
            "/logs/filter",
            json={"logs": {"flow_run_id": {"any_": [flow_run_id]}}, "sort": "TIMESTAMP_ASC", "limit": 200},
        )
        return "\n".join(f"{r['timestamp']} {r['level']:>2} {r['name']}: {r['message']}" for r in response.json())
    except Exception as exc:  # the logs are for a failure message; never hide the failure itself
        return f"(could not read the flow run's logs: {exc!r})"


@dataclass
class Topology:
    api: httpx.Client
    env: dict[str, str]  # for prefect CLI commands against this server
    worker: subprocess.Popen
    segflow_home: Path


@contextlib.contextmanager
def _topology(
    stack: Stack, tmp_path: Path, db_url: str, prefect_file: str, **server_settings: str
) -> Iterator[Topology]:
    """`prefect server start` with the given PREFECT_SERVER_* settings, the work pool, `prefect deploy --all` of
    prefect_file from the repository root, and a process worker carrying SEGFLOW_DATABASE_URL and SEGFLOW_HOME."""
    port = _free_loopback_port()
    api_url = f"http://127.0.0.1:{port}/api"
    prefect_home = tmp_path / "prefect-home"
    segflow_home = tmp_path / "segflow-home"
    server_env = unmeasured(_environment(prefect_home, api_url, **server_settings))  # no segflow code runs there
    env = _environment(prefect_home, api_url)
    worker_env = _environment(
        prefect_home,
        api_url,
        SEGFLOW_DATABASE_URL=db_url,
        SEGFLOW_HOME=str(segflow_home),
        PREFECT_WORKER_QUERY_SECONDS="2",
    )

    server = stack.start(
        "server", [str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port)], server_env, tmp_path
    )
    with httpx.Client(base_url=api_url, timeout=30, trust_env=False) as api:
        _wait_until_healthy(api, server, port, stack)

        stack.run(
            "work-pool", [str(PREFECT), "work-pool", "create", "segflow-process", "--type", "process"], env, tmp_path
        )
        # From the repository root: the entrypoints are relative to it, and with no pull steps in prefect.yaml
        # `prefect deploy` records a set_working_directory pull step to the folder it ran in.
        stack.run("deploy", [str(PREFECT), "--no-prompt", "deploy", "--all", "--prefect-file", prefect_file], env, ROOT)
        deployment = api.get("/deployments/name/nightly-segmentation/nightly").json()
        assert deployment["work_pool_name"] == "segflow-process"
        # One run at a time per deployment; a run that collides with a hung one is cancelled, not queued.
        limit = deployment.get("global_concurrency_limit") or {}
        options = deployment.get("concurrency_options") or {}
        assert (limit.get("limit"), options.get("collision_strategy")) == (1, "CANCEL_NEW"), deployment
        assert deployment["pull_steps"] == [
            {"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT.resolve())}}
        ]

        worker = stack.start(
            "worker", [str(PREFECT), "worker", "start", "--pool", "segflow-process"], worker_env, tmp_path
        )
        yield Topology(api, env, worker, segflow_home)


def _wait_until_finished(top: Topology, stack: Stack, flow_run_id: str, timeout: float = 300) -> dict:
    """The flow run once it is COMPLETED, or an AssertionError with the worker's output and the run's logs."""
    deadline = time.monotonic() + timeout
    flow_run, state = None, None
    while time.monotonic() < deadline:
        flow_run = top.api.get(f"/flow_runs/{flow_run_id}").json()
        state = flow_run["state"]
        if state and state["type"] in TERMINAL:
            break
        assert top.worker.poll() is None, f"the worker exited {top.worker.returncode}:\n{stack.log('worker')}"
        time.sleep(2)
    assert state and state["type"] == "COMPLETED", (
        f"flow run {flow_run_id} ended {state and state['type']} ({state and state['message']})\n"
        f"--- worker ---\n{stack.log('worker')}\n--- flow run logs ---\n{_flow_run_logs(top.api, flow_run_id)}"
    )
    return flow_run


def _known_customers(db, fetch, as_of: str) -> int:
    """current_segments has one row per known customer: anyone with a line up to the end of the as-of day."""
    return fetch(
        db,
        "select count(distinct customer_id) from segflow.transactions "
        "where invoiced_at < (%s::date + 1)::timestamp at time zone 'UTC'",
        (as_of,),
    )[0][0]


def test_a_worker_runs_the_nightly_deployment_against_postgres(stack, db, db_url, tmp_path, fetch):
    generate_transactions(db, GeneratorSpec(customers=2_000, days=180, seed=5, start=date(2025, 1, 1)))
    expected_customers = _known_customers(db, fetch, AS_OF)
    assert expected_customers > 0

    # The scheduler service stays off: a cron run falling due mid-test (02:00 UTC nightly, 03:30 UTC Sunday)
    # would reach this worker too. Deployment runs do not need it; the next test runs with it on.
    with _topology(
        stack, tmp_path, db_url, "deployments/prefect.yaml", PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false"
    ) as top:
        output = stack.run(
            "trigger",
            [str(PREFECT), "deployment", "run", "nightly-segmentation/nightly", "--param", f"as_of={AS_OF}"],
            top.env,
            tmp_path,
        )
        match = re.search(r"UUID: ([0-9a-f-]{36})", output)
        assert match, output
        flow_run = _wait_until_finished(top, stack, match.group(1))
        assert flow_run["parameters"]["as_of"] == AS_OF
        assert flow_run["work_pool_name"] == "segflow-process"
        assert flow_run["name"] == f"{AS_OF}-auto"

    assert fetch(db, "select status from segflow.runs where as_of = %s", (AS_OF,)) == [("published",)]
    assert fetch(db, "select count(*) from segflow.current_segments")[0][0] == expected_customers
    # SEGFLOW_HOME reached the flow-run process through the worker too: the model was saved there.
    assert (top.segflow_home / "models" / "segflow-model-v1.joblib").exists()
    # The flow's last task wrote the run's segment report, linking its drift reports.
    page = top.segflow_home / "reports" / "segments" / "run-1.html"
    assert page.exists() and "run-1-vs-training.html" in page.read_text()


def _every_minute_nightly(path: Path) -> Path:
    """A copy of deployments/prefect.yaml in which only the nightly deployment can start runs: every minute."""
    config = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text())
    for deployment in config["deployments"]:
        for schedule in deployment.get("schedules") or []:
            schedule["active"] = False
        for trigger in deployment.get("triggers") or []:
            trigger["enabled"] = False
    (nightly,) = [d for d in config["deployments"] if d["name"] == "nightly"]
    nightly["schedules"] = [{"cron": "* * * * *", "timezone": "UTC", "active": True}]
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _flow_runs(api: httpx.Client, deployment_id: str) -> list[dict]:
    return api.post(
        "/flow_runs/filter",
        json={
            "flow_runs": {"deployment_id": {"any_": [deployment_id]}},
            "sort": "EXPECTED_START_TIME_ASC",
            "limit": 10,
        },
    ).json()


def test_the_scheduler_fires_the_nightly_cron_and_the_run_publishes(stack, db, db_url, tmp_path, fetch):
    """The cron alone starts the run (no `prefect deployment run`); its as-of date is its scheduled date (UTC).

    Fails under SQLAlchemy 2.1: Prefect 3.8's scheduler then logs "Can't evaluate bulk DML statement" and creates
    no run (pyproject.toml pins SQLAlchemy <2.1)."""
    today = datetime.now(UTC).date()
    # Lines up to tomorrow too: the minute the cron fires may fall after midnight UTC.
    generate_transactions(db, GeneratorSpec(customers=2_000, days=181, seed=5, start=today - timedelta(days=179)))
    prefect_file = _every_minute_nightly(tmp_path / "prefect.yaml")

    # The scheduler also schedules recently deployed deployments every 5 s; its main loop (60 s) is shortened too.
    with _topology(
        stack, tmp_path, db_url, str(prefect_file), PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="5"
    ) as top:
        deployment_id = top.api.get("/deployments/name/nightly-segmentation/nightly").json()["id"]

        # Waits are bounded (the scheduler checks new deployments every 5 s; the cron fires within a minute).
        runs = poll(lambda: _flow_runs(top.api, deployment_id), timeout=60, every=2)
        assert runs, (
            "the scheduler created no flow run for nightly-segmentation/nightly (cron * * * * *) within 60 s of "
            f"`prefect deploy` (SQLAlchemy {version('sqlalchemy')} here; under 2.1 Prefect 3.8's scheduler fails "
            f'with "Can\'t evaluate bulk DML statement")\n--- server log (tail) ---\n{stack.log("server")}'
        )
        first = runs[0]
        assert first["auto_scheduled"], first

        # Once the worker has taken the first run, pause the deployment: that deletes its later scheduled runs,
        # so no second run of the same date starts before the assertions below.
        def taken() -> bool:
            assert top.worker.poll() is None, f"the worker exited {top.worker.returncode}:\n{stack.log('worker')}"
            return top.api.get(f"/flow_runs/{first['id']}").json()["state"]["type"] != "SCHEDULED"

        assert poll(taken, timeout=90, every=1), (
            f"no worker took the scheduled run {first['id']} (due {first['expected_start_time']})\n"
            f"--- worker ---\n{stack.log('worker')}"
        )
        top.api.post(f"/deployments/{deployment_id}/pause_deployment").raise_for_status()

        flow_run = _wait_until_finished(top, stack, first["id"])
        assert flow_run["parameters"].get("as_of") is None, flow_run["parameters"]
        assert flow_run["work_pool_name"] == "segflow-process"
        as_of = datetime.fromisoformat(flow_run["expected_start_time"]).astimezone(UTC).date().isoformat()

    expected_customers = _known_customers(db, fetch, as_of)
    assert expected_customers > 0
    assert fetch(db, "select status from segflow.runs") == [("published",)]
    assert fetch(db, "select status from segflow.runs where as_of = %s", (as_of,)) == [("published",)]
    assert fetch(db, "select count(*) from segflow.current_segments")[0][0] == expected_customers
