"""The embedded Prefect server (segflow.orchestration.prefect_server) for real: found and reused, its UI calls its
own API."""

import httpx
import pytest

from segflow.orchestration import prefect_server


def test_a_running_server_is_reused_not_started_again(shared_prefect_server):
    folder, started = shared_prefect_server
    assert prefect_server.status(folder).state == started
    assert prefect_server.ensure_running(folder, port=0) == started  # port 0 would have meant a new port
    assert started.api_url.startswith("http://127.0.0.1:")
    assert httpx.get(f"{started.api_url}/health", trust_env=False).json() is True


def test_the_ui_calls_the_api_on_the_servers_own_port(shared_prefect_server):
    # Prefect derives the UI's API address from its settings, not from `--port`: a server on any port but 4200
    # would otherwise serve a UI that talks to another server, or to none.
    _, started = shared_prefect_server
    ui_settings = httpx.get(f"{started.ui_url}/ui-settings", trust_env=False).json()
    assert ui_settings["api_url"] == started.api_url
    page = httpx.get(f"{started.ui_url}/runs", headers={"Accept": "text/html"}, trust_env=False)
    assert page.status_code == 200 and "<html" in page.text.lower()


def test_a_server_that_exits_during_its_start_is_reported_with_its_log_and_forgotten(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_SERVER_API_KEEPALIVE_TIMEOUT", "not-a-number")  # Prefect refuses to start
    with pytest.raises(prefect_server.PrefectServerUnavailable) as raised:
        prefect_server.ensure_running(tmp_path / "prefect", port=0)
    assert str(raised.value) == (
        f"the embedded Prefect server exited during its start; see {tmp_path / 'prefect' / 'server.log'}"
    )
    assert not raised.value.still_running
    assert "keepalive_timeout" in (tmp_path / "prefect" / "server.log").read_text()  # the log says why
    assert not (tmp_path / "prefect" / prefect_server.STATE_FILE).exists()
