"""`segflow run` as an operator meets it when things go wrong: an error inside the flow is one line, and a
`kill -9` leaves no process behind but the services meant to outlive commands, and an attempt the next command
cleans up."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import psutil
import pytest

from segflow.data.generate import GeneratorSpec, generate_transactions
from segflow.modelling import registry
from segflow.orchestration import prefect_server
from segflow.stages import run_nightly

pytestmark = pytest.mark.slow

SPEC = GeneratorSpec(customers=3_000, days=180, seed=5, start=date(2025, 1, 1))
AS_OF = "2025-06-29"


def _env(db_url: str, home: Path, **extra: str) -> dict[str, str]:
    """The command's environment: this test's database and home; the embedded Prefect server (on a free port)
    unless PREFECT_API_URL is given."""
    (home / "prefect-client").mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEGFLOW_", "PREFECT_"))}
    env.update(
        SEGFLOW_DATABASE_URL=db_url,
        SEGFLOW_HOME=str(home),
        SEGFLOW_PREFECT_PORT="0",
        PREFECT_HOME=str(home / "prefect-client"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        COLUMNS="200",
        **extra,
    )
    return env


def test_an_error_inside_the_flow_is_one_line_on_stderr_and_exit_1(
    db, db_url, settings, tmp_path, fetch, prefect_api_url
):
    generate_transactions(db, SPEC)
    run_nightly(db, settings, date(2025, 6, 22))
    artifact = Path(registry.details(db, 1)["artifact_path"])
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0x01
    artifact.write_bytes(bytes(data))

    result = subprocess.run(
        [sys.executable, "-m", "segflow", "run", "--as-of", AS_OF, "--retrain", "never"],
        env=_env(db_url, settings.home, PREFECT_API_URL=prefect_api_url),
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("error: artifact of model version 1 (")
    assert "refusing to load a changed model" in errors[0]
    assert result.stderr.rstrip().splitlines()[-1] == errors[0]
    assert fetch(db, "select status from segflow.run_attempts where as_of = %s", (date(2025, 6, 29),)) == [("failed",)]


def test_a_killed_run_leaves_only_the_prefect_server_which_the_next_command_reuses(db, db_url, tmp_path, fetch):
    generate_transactions(db, SPEC)
    home = tmp_path / "home"
    output = (tmp_path / "run.log").open("w")
    run = subprocess.Popen(
        [sys.executable, "-m", "segflow", "run", "--as-of", AS_OF],
        env=_env(db_url, home),
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    output.close()
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and run.poll() is None:
            if fetch(db, "select count(*) from segflow.run_attempts where status = 'running'")[0][0]:
                children = psutil.Process(run.pid).children(recursive=True)
                break
            time.sleep(0.05)
        assert run.poll() is None, f"the run ended before it could be killed:\n{(tmp_path / 'run.log').read_text()}"
        server = prefect_server.status(home / "prefect").state
        assert server is not None, "the run did not start the embedded Prefect server"
        assert server.pid in [child.pid for child in children], "the server was not started by this command"
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=10)
        # The server is a service in a session of its own, like the embedded PostgreSQL (here an external
        # server): it alone outlives the command; nothing else the command started may.
        others = [child for child in children if _session(child) != server.pid]
        _gone, alive = psutil.wait_procs(others, timeout=20)
        assert not alive, f"processes outlived the killed command: {[p.cmdline() for p in alive]}"
        assert prefect_server.status(home / "prefect").state == server
    finally:
        # Whatever failed above, this test ends the processes it started: the command and its children here,
        # the Prefect server through conftest's teardown (it stops every server under tmp_path).
        for process in [psutil.Process(run.pid)] if run.poll() is None else []:
            process.kill()
        for child in children:
            if _session(child) == run.pid:  # the command's own session, which no service shares
                child.kill()

    attempt = fetch(db, "select attempt_id, status from segflow.run_attempts")
    assert [status for _, status in attempt] == ["running"]
    status = subprocess.run(
        [sys.executable, "-m", "segflow", "db", "status"],
        env=_env(db_url, home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert status.returncode == 0, status.stderr
    shown = rf"abandoned now\s+│ {attempt[0][0]} \(their process died; rows removed\)"
    assert re.search(shown, status.stdout), status.stdout
    assert fetch(db, "select status, error like 'abandoned: %%' from segflow.run_attempts") == [("abandoned", True)]
    assert fetch(db, "select count(*) from segflow.customer_features") == [(0,)]

    # The next command that needs Prefect finds the same server (a run would too: the demo test shows it).
    again = subprocess.run(
        [sys.executable, "-m", "segflow", "prefect", "start"],
        env=_env(db_url, home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines()[-1] == server.ui_url
    assert f"(pid {server.pid})" in again.stdout
    assert prefect_server.status(home / "prefect").state == server


def _session(process: psutil.Process) -> int | None:
    try:
        return os.getsid(process.pid)
    except ProcessLookupError:
        return None
