"""One segflow run per database at a time, and a time limit, for real: the session's embedded Prefect server,
a real PostgreSQL, and `segflow run` as its own process."""

import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime

import httpx
import pytest
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings
from support.waiting import poll

from flows.nightly import STAGE_TASKS, nightly_segmentation
from segflow.data.generate import GeneratorSpec, generate_transactions
from segflow.orchestration.run_guard import holding_slot, slot_name
from segflow.stages.features import fold as fold_aggregates

pytestmark = pytest.mark.slow


@pytest.fixture
def prefect_api(prefect_api_url):
    with temporary_settings(updates={PREFECT_API_URL: prefect_api_url}):
        yield


def _active_slots(name: str) -> int:
    with get_client(sync_client=True) as client:
        return client.read_global_concurrency_limit_by_name(name).active_slots


def _flow_run_waiting_for(api_url: str, slot: str) -> dict | None:
    """The flow run that logged taking `slot` (its name is this test's database's), if one has."""
    with httpx.Client(base_url=api_url, timeout=10, trust_env=False) as api:
        logs = api.post("/logs/filter", json={"sort": "TIMESTAMP_DESC", "limit": 200}).json()
        for record in logs:
            if f"taking the run slot {slot}" in record["message"] and record["flow_run_id"]:
                return api.get(f"/flow_runs/{record['flow_run_id']}").json()
    return None


def test_a_run_waits_while_another_holds_its_databases_slot_and_starts_once_it_is_free(
    prefect_api, prefect_api_url, db, db_url, tmp_path, fetch
):
    generate_transactions(db, GeneratorSpec(customers=1_000, days=120, seed=5, start=date(2025, 1, 1)))
    slot = slot_name(db_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEGFLOW_", "PREFECT_"))}
    env.update(
        SEGFLOW_DATABASE_URL=db_url,
        SEGFLOW_HOME=str(tmp_path / "home"),
        PREFECT_API_URL=prefect_api_url,
        PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    output = tmp_path / "run.log"
    process = None
    try:
        # This test holds the slot, as a run of another deployment on the same database would.
        with holding_slot(slot):
            assert _active_slots(slot) == 1
            with output.open("wb") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "segflow", "run", "--as-of", "2025-04-30"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            flow_run = poll(lambda: _flow_run_waiting_for(prefect_api_url, slot), timeout=120)
            assert flow_run, f"no flow run took the slot {slot}:\n{output.read_text()[-3000:]}"
            time.sleep(3)  # long enough for a run that did not wait to begin its attempt
            assert flow_run["state_type"] == "RUNNING" and process.poll() is None
            assert fetch(db, "select count(*) from segflow.run_attempts") == [(0,)]
            released = datetime.now(UTC)
        process.wait(timeout=240)
        assert process.returncode == 0, output.read_text()[-3000:]
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    (attempt,) = fetch(db, "select status, started_at from segflow.run_attempts")
    assert attempt[0] == "published" and attempt[1] > released
    assert flow_run["name"] == "2025-04-30-auto"
    assert _active_slots(slot) == 0  # the run gave the slot back


def test_a_run_past_its_time_limit_ends_timed_out_and_marks_its_attempt_failed(
    prefect_api, db, db_url, tmp_path, fetch, monkeypatch
):
    monkeypatch.setenv("SEGFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("SEGFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SEGFLOW_FLOW_TIMEOUT_SECONDS", "3")

    woke = []

    @task(name="features.fold", cache_policy=NO_CACHE)
    def hung_fold(*args):
        time.sleep(120)  # a night that hangs in a stage
        woke.append(True)

    monkeypatch.setitem(STAGE_TASKS, fold_aggregates, hung_fold)
    state = nightly_segmentation(as_of=date(2025, 6, 29), return_state=True)

    assert woke == []  # the run ended while its stage still hung, not after it
    assert state.name == "TimedOut" and "SEGFLOW_FLOW_TIMEOUT_SECONDS" in state.message
    assert fetch(db, "select status from segflow.run_attempts") == [("failed",)]
    assert fetch(db, "select count(*) from segflow.current_segments") == [(0,)]
    assert _active_slots(slot_name(db_url)) == 0
