"""The embedded Prefect server's bookkeeping without a server: ports, stale and reused pids, stopping a group."""

import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from segflow.orchestration import prefect_server
from segflow.orchestration.prefect_server import STATE_FILE


def _record(folder: Path, pid: int, port: int, process_start: str | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / STATE_FILE
    path.write_text(json.dumps({"pid": pid, "port": port, "process_start": process_start}))
    return path


def _dead_pid() -> int:
    probe = subprocess.Popen(["true"])
    probe.wait()
    return probe.pid


def test_a_free_preferred_port_is_taken_as_it_is():
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert prefect_server.choose_port(port) == port


def test_a_port_another_program_listens_on_gives_a_free_one_and_a_warning_naming_the_setting(caplog):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with caplog.at_level(logging.WARNING, logger="segflow.orchestration.prefect_server"):
            chosen = prefect_server.choose_port(port)
    assert chosen != port and chosen > 0
    assert f"port {port} (SEGFLOW_PREFECT_PORT) is in use by another program" in caplog.text
    assert f"listens on 127.0.0.1:{chosen} instead" in caplog.text


def test_port_zero_takes_a_free_port_without_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="segflow.orchestration.prefect_server"):
        assert prefect_server.choose_port(0) > 0
    assert caplog.text == ""


def test_commands_reach_a_server_on_any_address_through_loopback_and_others_as_given():
    assert prefect_server.server_url("0.0.0.0", 4200) == "http://127.0.0.1:4200"
    assert prefect_server.server_url("::", 4200) == "http://[::1]:4200"
    assert prefect_server.server_url("::1", 4201) == "http://[::1]:4201"
    assert prefect_server.server_url("192.168.1.20", 4200) == "http://192.168.1.20:4200"
    assert prefect_server.server_url("prefect.lan", 4200) == "http://prefect.lan:4200"
    state = prefect_server.ServerState(pid=1, port=4300, process_start=None, host="127.0.0.2")
    assert (state.ui_url, state.api_url) == ("http://127.0.0.2:4300", "http://127.0.0.2:4300/api")


def test_a_state_file_of_a_server_started_before_hosts_were_recorded_is_read_as_loopback(tmp_path):
    _record(tmp_path / "prefect", os.getpid(), 4200, "12")
    assert prefect_server._read_state(tmp_path / "prefect") == prefect_server.ServerState(
        os.getpid(), 4200, "12", "127.0.0.1"
    )


def test_no_state_file_means_not_running(tmp_path):
    current = prefect_server.status(tmp_path / "prefect")
    assert not current.running and current.state is None
    assert current.log_path == tmp_path / "prefect" / "server.log"


def test_a_state_file_of_a_dead_process_is_not_running_and_stop_forgets_it(tmp_path):
    path = _record(tmp_path / "prefect", _dead_pid(), 4200, "1")
    assert not prefect_server.status(tmp_path / "prefect").running
    assert prefect_server.stop(tmp_path / "prefect") is False
    assert not path.exists()


def test_a_pid_now_used_by_another_process_is_not_the_server_and_is_never_signalled(tmp_path):
    # This very process is alive, but it started at another time than the one recorded: a reused pid.
    path = _record(tmp_path / "prefect", os.getpid(), 4200, "12")
    assert not prefect_server.status(tmp_path / "prefect").running
    assert prefect_server.stop(tmp_path / "prefect") is False  # and this test is still running
    assert not path.exists()


def test_an_unreadable_state_file_is_ignored(tmp_path, caplog):
    (tmp_path / "prefect").mkdir()
    (tmp_path / "prefect" / STATE_FILE).write_text('{"pid": ')
    with caplog.at_level(logging.WARNING, logger="segflow.orchestration.prefect_server"):
        assert not prefect_server.status(tmp_path / "prefect").running
    assert f"ignoring the unreadable {tmp_path / 'prefect' / STATE_FILE}" in caplog.text


def test_stop_ends_the_recorded_process_and_what_it_started_in_its_session(tmp_path):
    # A stand-in for the server: a session leader with a child, as `prefect server start` is started.
    leader = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, time; subprocess.Popen(['sleep', '60']); time.sleep(60)"],
        start_new_session=True,
    )
    try:
        started = prefect_server._process_start(leader.pid)
        path = _record(tmp_path / "prefect", leader.pid, 4200, started)
        assert prefect_server.status(tmp_path / "prefect").state == prefect_server.ServerState(
            leader.pid, 4200, started
        )
        deadline = time.monotonic() + 10
        while len(_session_members(leader.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(_session_members(leader.pid)) == 2, "the stand-in did not start its child"

        assert prefect_server.stop(tmp_path / "prefect") is True

        assert leader.wait(timeout=5) is not None
        # The child got SIGTERM with its group; on a busy machine it may take a moment to exit after the leader.
        deadline = time.monotonic() + 5
        while _session_members(leader.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _session_members(leader.pid) == []
        assert not path.exists()
    finally:
        if leader.poll() is None:
            os.killpg(leader.pid, 9)
            leader.wait()


def _session_members(session: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == session and fields[0] not in {"Z", "X"}:
            members.append(int(entry.name))
    return members
