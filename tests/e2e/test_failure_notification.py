"""The failure notification for real: `segflow prefect setup` against the session's embedded Prefect server, a
webhook listener on loopback, and flow runs that fail and time out."""

import json
import os
import queue
import subprocess
import sys
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.nightly import nightly_segmentation
from segflow.orchestration.alerts import remove_automations
from segflow.orchestration.run_guard import holding_slot, slot_name

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def webhook():
    """A loopback HTTP listener: its URL, and a queue of the JSON bodies POSTed to it."""
    received: queue.Queue = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.put(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):  # keep the test's output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/segflow-alerts", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _messages_for(received: queue.Queue, flow_run_ids: set[str], timeout: float) -> dict[str, dict]:
    """The first message naming each flow run id, waiting at most `timeout` seconds for them all."""
    found: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    while set(found) != flow_run_ids and time.monotonic() < deadline:
        try:
            message = received.get(timeout=1)
        except queue.Empty:
            continue
        for flow_run_id in flow_run_ids - set(found):
            if flow_run_id in message["body"]:
                found[flow_run_id] = message
    return found


def test_a_failed_and_a_timed_out_run_each_notify_the_webhook(prefect_api_url, db_url, tmp_path, webhook, monkeypatch):
    url, received = webhook
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEGFLOW_", "PREFECT_"))}
    env.update(
        SEGFLOW_DATABASE_URL=db_url,
        SEGFLOW_HOME=str(tmp_path / "home"),
        SEGFLOW_ALERT_WEBHOOK_URL=url,
        PREFECT_API_URL=prefect_api_url,
        PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        COLUMNS="200",
    )
    setup = subprocess.run(
        [sys.executable, "-m", "segflow", "prefect", "setup"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert setup.returncode == 0, setup.stderr[-3000:]
    slot = slot_name(db_url)
    assert f"run slot {slot}: created" in setup.stdout
    assert "webhook block custom-webhook/segflow-alert-webhook: saved" in setup.stdout
    assert "automation segflow-run-failed:" in setup.stdout

    monkeypatch.setenv("SEGFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("SEGFLOW_HOME", str(tmp_path / "home"))
    try:
        with temporary_settings(updates={PREFECT_API_URL: prefect_api_url}):
            failed = nightly_segmentation(as_of=date(2025, 6, 29), return_state=True)  # no data: fails at once
            # A run queued behind a hung one (this test holds the slot) ends at its own time limit.
            monkeypatch.setenv("SEGFLOW_FLOW_TIMEOUT_SECONDS", "3")
            with holding_slot(slot):
                timed_out = nightly_segmentation(as_of=date(2025, 6, 30), return_state=True)
        assert (failed.name, timed_out.name) == ("Failed", "TimedOut")

        ids = {str(failed.state_details.flow_run_id), str(timed_out.state_details.flow_run_id)}
        messages = _messages_for(received, ids, timeout=90)
        assert set(messages) == ids, f"the webhook got no message for {ids - set(messages)} within 90 s"
        first = messages[str(failed.state_details.flow_run_id)]
        assert first["subject"] == "segflow: flow run 2025-06-29-auto ended Failed"
        assert "no purchase lines up to 2025-06-29" in first["body"]
        assert first["text"].startswith(first["subject"] + "\n")
        second = messages[str(timed_out.state_details.flow_run_id)]
        assert second["subject"] == "segflow: flow run 2025-06-30-auto ended TimedOut"
        assert "SEGFLOW_FLOW_TIMEOUT_SECONDS" in second["body"]
    finally:
        # The server outlives this test: later failures must not post to a listener that is gone.
        with temporary_settings(updates={PREFECT_API_URL: prefect_api_url}):
            remove_automations(["segflow-run-failed"])
