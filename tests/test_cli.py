"""The `segflow` command as a user runs it: real processes, real database, one-line errors."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import psutil
import psycopg2
import pytest
from support.cli import segflow, segflow_in_process
from support.data import LINE
from support.devtools import free_port

from segflow.orchestration import prefect_server
from segflow.storage import embedded, migrations

HEADER = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"


def _command_lines(help_text: str) -> list[str]:
    """The rows of the Commands panel of rich help, one per line as printed."""
    panel = help_text.split("Commands", 1)[1].split("╰", 1)[0]
    return [line.strip("│ ") for line in panel.splitlines()[1:] if line.strip()]


@pytest.mark.parametrize(
    ("args", "commands"),
    [
        (
            (),
            [
                "load",
                "generate",
                "demo",
                "run",
                "retrain",
                "backfill",
                "withdraw",
                "rebuild",
                "drift",
                "report",
                "load-customers",
                "segments",
                "customer",
                "score",
                "score-file",
                "api",
                "ui",
                "db",
                "prefect",
                "models",
                "mlflow",
                "batches",
            ],
        ),
        (("db",), ["url", "upgrade", "bi-docs", "status", "start", "create-bi-user", "stop"]),
        (("prefect",), ["status", "start", "stop", "setup"]),
        (("models",), ["list", "show", "promote"]),
        (("mlflow",), ["sync"]),
    ],
)
def test_help_lists_every_command_on_one_line_each(args, commands):
    rows = _command_lines(segflow(*args, "--help", env={"COLUMNS": "80"}).stdout)
    assert [row.split()[0] for row in rows] == commands  # a wrapped description would add a row
    assert all(len(row.split(None, 1)) == 2 for row in rows), rows


# Every module an install extra brings (pyproject.toml's [project.optional-dependencies]); hidden as if not installed.
EXTRA_MODULES = ["streamlit", "python_multipart", "swagger_ui_bundle", "prefect_dask", "dask", "distributed", "mlflow"]


def _without(modules: list[str], code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `code` in a fresh Python where `modules` cannot be imported (None in sys.modules: import and find_spec
    both see nothing), as on an install without their extra."""
    hide = f"import sys\nfor name in {modules!r}:\n    sys.modules[name] = None\n"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SEGFLOW_")} | (env or {})
    return subprocess.run(
        [sys.executable, "-c", hide + code], capture_output=True, text=True, env=full_env, timeout=120
    )


@pytest.mark.parametrize(
    ("args", "env", "hidden", "line"),
    [
        (["ui"], {}, "streamlit", "segflow ui needs segflow's ui extra (streamlit is not installed)"),
        (
            ["api"],
            {},
            "swagger_ui_bundle",
            "segflow api needs segflow's api extra (swagger_ui_bundle is not installed)",
        ),
        (
            ["mlflow", "sync"],
            {},
            "mlflow",
            "segflow mlflow sync needs segflow's mlflow extra (mlflow is not installed)",
        ),
        (
            ["run"],
            {"SEGFLOW_DASK_ADDRESS": "local:2"},
            "prefect_dask",
            "SEGFLOW_DASK_ADDRESS needs segflow's dask extra (prefect_dask is not installed)",
        ),
    ],
)
def test_a_command_whose_extra_is_missing_exits_2_in_one_line_naming_the_extra(tmp_path, args, env, hidden, line):
    extra = line.split("segflow's ")[1].split()[0]
    code = f"from segflow.cli import main\nsys.argv = ['segflow', *{args!r}]\nmain()\n"
    result = _without([hidden], code, env | {"SEGFLOW_HOME": str(tmp_path / "home")})
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == f"error: {line}: pip install 'segflow[{extra}]'"
    assert not (tmp_path / "home").exists()  # refused before any settings were acted on: no database started


def test_the_base_install_imports_segflow_its_cli_and_flows_without_any_extra():
    # Only the surfaces that need an extra (segflow.serving.api, segflow.ui) may import one, and only when they start.
    code = (
        "import importlib, pkgutil, segflow, segflow.cli, flows.nightly\n"
        "names = [m.name for m in pkgutil.walk_packages(segflow.__path__, 'segflow.')]\n"
        "skipped = ('segflow.serving.api', 'segflow.ui', 'segflow.__main__')\n"
        "for name in names:\n"
        "    if not name.startswith(skipped):\n"
        "        importlib.import_module(name)\n"
        "print(len(names))\n"
    )
    result = _without(EXTRA_MODULES, code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout) > 40


def _stub_prefect_server(monkeypatch, running: prefect_server.ServerState | None) -> list[tuple]:
    """`prefect_server` without a server: `running` is what status finds; ensure_running records its arguments and
    returns `running`, or a server started where it was asked."""
    calls: list[tuple] = []

    def ensure_running(prefect_dir, port, host=prefect_server.HOST):
        calls.append((port, host))
        return running or prefect_server.ServerState(pid=4242, port=port, process_start=None, host=host)

    monkeypatch.setattr(prefect_server, "status", lambda folder: prefect_server.ServerStatus(folder, running))
    monkeypatch.setattr(prefect_server, "ensure_running", ensure_running)
    return calls


def test_prefect_start_options_win_over_the_settings_and_another_address_is_warned_of(tmp_path, monkeypatch):
    calls = _stub_prefect_server(monkeypatch, running=None)
    env = {"SEGFLOW_HOME": str(tmp_path / "home"), "SEGFLOW_PREFECT_HOST": "127.0.0.3", "SEGFLOW_PREFECT_PORT": "4300"}
    both = segflow_in_process("prefect", "start", "--host", "127.0.0.2", "--port", "4301", env=env)
    assert both.stdout.splitlines()[-1] == "http://127.0.0.2:4301"
    assert segflow_in_process("prefect", "start", "--port", "4302", env=env).stdout.splitlines()[-1] == (
        "http://127.0.0.3:4302"
    )
    segflow_in_process("prefect", "start", env=env)
    exposed = segflow_in_process("prefect", "start", "--host", "0.0.0.0", "--port", "4303", env=env)
    assert exposed.stdout.splitlines()[-1] == "http://127.0.0.1:4303"
    assert " ".join(exposed.stderr.split()) == (
        "warning: the Prefect server listens on 0.0.0.0 and has no login: whoever reaches it can read every run's "
        "parameters and logs, and start or cancel runs"
    )
    assert calls == [(4301, "127.0.0.2"), (4302, "127.0.0.3"), (4300, "127.0.0.3"), (4303, "0.0.0.0")]


def test_prefect_start_on_another_address_than_the_running_servers_keeps_it_and_says_so(tmp_path, monkeypatch):
    running = prefect_server.ServerState(pid=4242, port=4200, process_start=None)
    _stub_prefect_server(monkeypatch, running=running)
    env = {"SEGFLOW_HOME": str(tmp_path / "home")}
    moved = segflow_in_process("prefect", "start", "--port", "4301", env=env)
    assert moved.stdout.splitlines() == [
        "it was already running and keeps its address (127.0.0.1:4200); to listen on 127.0.0.1:4301, run "
        "`segflow prefect stop` first",
        "the embedded Prefect server runs (pid 4242); API http://127.0.0.1:4200/api",
        "http://127.0.0.1:4200",
    ]
    # Port 0 means any port, so the running server's is as good as any.
    assert len(segflow_in_process("prefect", "start", "--port", "0", env=env).stdout.splitlines()) == 2


def test_with_prefect_api_url_prefect_status_names_it_and_nothing_is_started(tmp_path):
    env = {"SEGFLOW_HOME": str(tmp_path / "home"), "PREFECT_API_URL": "http://127.0.0.1:9/api"}
    shown = segflow("prefect", "status", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "http://127.0.0.1:9/api (PREFECT_API_URL; segflow starts no server)" in shown.stdout
    stopped = segflow("prefect", "stop", env=env)
    assert stopped.stdout.strip() == "the embedded Prefect server was not running"
    assert not (tmp_path / "home" / "prefect" / "server.json").exists()


def test_missing_file_is_one_line_and_exit_1(db_url, tmp_path):
    result = segflow("load", str(tmp_path / "nope.csv"), env={"SEGFLOW_DATABASE_URL": db_url})
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: file not found: {tmp_path / 'nope.csv'}"


def test_unreachable_database_names_host_but_not_password(tmp_path):
    path = tmp_path / "lines.csv"
    path.write_text(HEADER + LINE.format(i=1))
    url = "postgresql://analyst:hunter2@127.0.0.1:1/segs"
    result = segflow("load", str(path), env={"SEGFLOW_DATABASE_URL": url})
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "cannot reach PostgreSQL at 127.0.0.1:1/segs" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


def test_db_url_hides_an_external_password():
    result = segflow("db", "url", env={"SEGFLOW_DATABASE_URL": "postgresql://analyst:hunter2@db.example:5433/segs"})
    assert result.stdout.strip().splitlines()[-1] == "postgresql://analyst:***@db.example:5433/segs"
    assert "hunter2" not in result.stdout + result.stderr


def test_load_prints_counts_and_a_second_load_adds_nothing(db_url, tmp_path, fetch, db):
    path = tmp_path / "lines.csv"
    path.write_text(HEADER + LINE.format(i=1) + LINE.format(i=2) + "3,S,D,x,2010-01-01,1,c,UK\n")
    # One line of three is rejected: above the default 10 %, so this load allows half.
    first = segflow("load", str(path), "--max-reject-share", "0.5", env={"SEGFLOW_DATABASE_URL": db_url})
    assert first.returncode == 0, first.stderr
    assert "rejected: unparseable_number" in first.stdout
    assert "│ loaded" in first.stdout and "│      2 │" in first.stdout.replace("     2 │", "      2 │")
    second = segflow("load", str(path), env={"SEGFLOW_DATABASE_URL": db_url})
    assert second.returncode == 0
    assert "0 lines added" in second.stdout
    assert fetch(db, "select count(*) from segflow.transactions")[0][0] == 2


def test_bad_start_date_is_refused(db_url):
    result = segflow("generate", "--start", "2024-02-30", env={"SEGFLOW_DATABASE_URL": db_url})
    assert result.returncode == 1
    assert result.stderr.strip() == "error: --start '2024-02-30' is not a date of the form YYYY-MM-DD"


def _flow_run_page(stdout: str) -> tuple[str, str]:
    """The UI address and flow-run id in a command's `flow run: URL` line."""
    found = re.search(r"^flow run: (http://127\.0\.0\.1:\d+)/runs/flow-run/([0-9a-f-]{36})$", stdout, re.M)
    assert found, stdout[-2000:]
    return found[1], found[2]


def _flow_run(api_url: str, flow_run_id: str) -> dict:
    response = httpx.get(f"{api_url}/flow_runs/{flow_run_id}", trust_env=False)
    assert response.status_code == 200, response.text
    return response.json()


# .ci/run runs the README's quick start (`segflow demo` on a fresh home) just before the tests, leaves its services up
# and names its home here, with what the demo printed beside it (demo.out): the demo test checks that demo rather
# than run a second one. Without it (a developer's `pytest`) the test runs the demo itself.
CI_DEMO_HOME = "SEGFLOW_TEST_DEMO_HOME"


def _demo_home() -> Path:
    ci_home = os.environ.get(CI_DEMO_HOME)
    return Path(ci_home) if ci_home else Path(os.environ.get("TMPDIR", "/tmp")) / f"segflow-demo-{os.getpid()}"


def _demo_on_a_fresh_home(home: Path, tmp_path: Path) -> tuple[dict[str, str], str]:
    """The environment of a new user's next commands, and what `segflow demo` printed on the fresh `home`."""
    env = {"SEGFLOW_HOME": str(home), "XDG_RUNTIME_DIR": "", "PREFECT_API_URL": ""}
    if os.environ.get(CI_DEMO_HOME):
        return env, (home / "demo.out").read_text()
    env["SEGFLOW_PREFECT_PORT"] = "0"  # a free port, so the test never takes 4200 from someone else on this machine
    demo = segflow("demo", env=env, cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    return env, demo.stdout


@pytest.mark.slow
def test_demo_on_a_fresh_home_starts_the_embedded_database_and_prefect_server(tmp_path):
    home = _demo_home()
    try:
        env, demo_stdout = _demo_on_a_fresh_home(home, tmp_path)
        assert "generated" in demo_stdout and "5,000" in demo_stdout
        assert f"host={home / 'pg'}" in demo_stdout
        server = prefect_server.status(home / "prefect").state
        assert server is not None
        where = f"prefect ui:      {server.ui_url} (runs, logs, schedules; stop with: segflow prefect stop)"
        assert where in demo_stdout

        # A new user's next command reuses the server, and its run is at the address it prints.
        run = segflow("run", env=env, cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        ui_url, flow_run_id = _flow_run_page(run.stdout)
        assert ui_url == server.ui_url and prefect_server.status(home / "prefect").state == server
        flow_run = _flow_run(server.api_url, flow_run_id)
        assert flow_run["state_type"] == "COMPLETED" and flow_run["name"].endswith("-auto")
        page = httpx.get(f"{ui_url}/runs/flow-run/{flow_run_id}", headers={"Accept": "text/html"}, trust_env=False)
        assert page.status_code == 200

        status = segflow("db", "status", env=env, cwd=tmp_path)
        newest = max(m.version for m in migrations.available_migrations())
        assert "yes (pid" in status.stdout and f"{newest:03d}" in status.stdout

        again = segflow("demo", env=env, cwd=tmp_path)  # the data is there: nothing generated twice
        assert again.returncode == 0 and "generated" not in again.stdout

        url = segflow("db", "url", env=env, cwd=tmp_path).stdout.strip().splitlines()[-1]
        assert url == f"postgresql://postgres@/segflow?host={home / 'pg'}"

        # A BI login made after the demo reads current_segments, not transactions, and cannot write.
        made = segflow("db", "create-bi-user", "demo_analyst", env=env, cwd=tmp_path)
        assert made.returncode == 0, made.stderr
        bi_url = made.stdout.strip().splitlines()[-1]
        assert bi_url.startswith("postgresql://demo_analyst:") and bi_url.endswith(f"@/segflow?host={home / 'pg'}")
        conn = psycopg2.connect(bi_url)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute("select count(*) from current_segments")
                assert cur.fetchone()[0] == 5_000
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cur.execute("select count(*) from segflow.transactions")
                with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
                    cur.execute("delete from segflow.current_run")
        finally:
            conn.close()

        # The demo's run has its segment report, and what-if scoring answers with the champion.
        page_path = Path(segflow("report", env=env, cwd=tmp_path).stdout.strip().splitlines()[-1])
        assert page_path.parent == home / "reports" / "segments" and page_path.exists()
        scored = segflow(
            "score", "--recency", "10", "--frequency", "5", "--monetary", "900", "--json", env=env, cwd=tmp_path
        )
        assert scored.returncode == 0, scored.stderr
        answer = json.loads(scored.stdout)
        assert answer["model_version"] == 1 and answer["segment_key"].startswith("S")
        assert {"segment_name", "distance", "confidence"} <= set(answer)

        shown = segflow("prefect", "status", env=env, cwd=tmp_path)
        assert re.search(rf"running\s+│ yes \(pid {server.pid}\)", shown.stdout), shown.stdout
        assert re.search(rf"ui\s+│ {re.escape(server.ui_url)}", shown.stdout), shown.stdout
        stop = segflow("prefect", "stop", env=env, cwd=tmp_path)
        assert stop.stdout.strip() == "stopped the embedded Prefect server"
        assert not prefect_server.status(home / "prefect").running
        assert not psutil.pid_exists(server.pid) or psutil.Process(server.pid).status() == psutil.STATUS_ZOMBIE

        stop = segflow("db", "stop", env=env, cwd=tmp_path)
        assert "stopped" in stop.stdout
        assert not embedded.status(home / "pg").running
    finally:
        prefect_server.stop(home / "prefect")
        embedded.stop(home / "pg")
        subprocess.run(["rm", "-rf", str(home)], check=False)


@pytest.mark.slow
def test_run_publishes_and_a_rerun_leaves_current_segments_identical(db_url, db, fetch, tmp_path, prefect_api_url):
    env = {
        "SEGFLOW_DATABASE_URL": db_url,
        "SEGFLOW_HOME": str(tmp_path / "home"),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_URL": prefect_api_url,
    }
    generate = segflow("generate", "--customers", "1500", "--days", "120", "--start", "2025-01-01", env=env)
    assert generate.returncode == 0, generate.stderr

    first = segflow("run", "--as-of", "2025-04-30", env=env)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "segments of run 1, as of 2025-04-30 (model v1)" in first.stdout
    # Quiet: one line per stage with its seconds, then the table; Prefect's lines only in the run log (and the API).
    run_log = tmp_path / "home" / "logs" / "runs.log"
    assert first.stdout.splitlines()[0] == f"Prefect's log: {run_log} (-v shows it here)"
    assert re.search(r"^  prepare\.begin +\d+\.\d s$", first.stdout, re.MULTILINE)
    assert re.search(r"^  train\.train +\d+\.\d s$", first.stdout, re.MULTILINE)
    assert re.search(r"^  publish\.publish +\d+\.\d s$", first.stdout, re.MULTILINE)
    assert "| INFO " not in first.stdout + first.stderr
    assert "Beginning flow run '2025-04-30-auto'" in run_log.read_text()
    before = fetch(db, "select * from segflow.current_segments order by customer_id")
    assert len(before) == 1_500
    # With PREFECT_API_URL the run is a flow run of that server, and segflow starts no server of its own.
    ui_url, flow_run_id = _flow_run_page(first.stdout)
    assert f"{ui_url}/api" == prefect_api_url
    assert _flow_run(prefect_api_url, flow_run_id)["name"] == "2025-04-30-auto"
    assert not (tmp_path / "home" / "prefect").exists()

    again = segflow("run", "--as-of", "2025-04-30", "-v", env=env)
    assert again.returncode == 0, again.stderr[-2000:]
    # Verbose: Prefect's own lines on the terminal (stderr, as Prefect prints them), no stage lines of segflow's.
    assert "| INFO    | Flow run '2025-04-30-auto' - Beginning flow run '2025-04-30-auto'" in again.stderr
    assert "| INFO    | Task run 'publish.publish-" in again.stderr
    assert not re.search(r"^  publish\.publish ", again.stdout, re.MULTILINE)
    assert run_log.read_text().count("Beginning flow run '2025-04-30-auto'") == 2
    assert fetch(db, "select * from segflow.current_segments order by customer_id") == before

    shown = segflow("models", "show", "--json", env=env)
    details = json.loads(shown.stdout)
    assert details["version"] == 1 and details["status"] == "champion"
    assert {"silhouette", "davies_bouldin", "calinski_harabasz"} <= set(details["metrics"])
    assert details["gates"]["min_segment_share"] == 0.03
    assert sum(s["size"] for s in details["segments"]) == 1_500
    assert {"key", "name", "size", "share"} <= set(details["segments"][0])

    drift = segflow("drift", env=env)
    assert drift.returncode == 0, drift.stderr[-2000:]
    assert "training (model v1)" in drift.stdout
    lines = drift.stdout.strip().splitlines()
    assert lines[-2].endswith("run-1-vs-training.html") and lines[-1].endswith("run-1-transitions.html")

    bad = segflow("models", "promote", "42", env=env)
    assert bad.returncode == 1
    assert bad.stderr.strip() == "error: model version 42 does not exist (see: segflow models list)"


@pytest.mark.slow
def test_report_prints_the_page_path_last_and_names_an_unknown_run(db_url, db, settings):
    from datetime import date

    from segflow.data.generate import GeneratorSpec, generate_transactions
    from segflow.stages import run_nightly

    generate_transactions(db, GeneratorSpec(customers=600, days=120, seed=3, start=date(2025, 1, 1)))
    run_nightly(db, settings, date(2025, 4, 30))
    env = {"SEGFLOW_DATABASE_URL": db_url, "SEGFLOW_HOME": str(settings.home)}

    result = segflow("report", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    path = Path(result.stdout.strip().splitlines()[-1])
    assert path == settings.report_path.resolve() / "segments" / "run-1.html"
    assert path.is_absolute() and path.exists()
    assert "Segments of run 1, as of 2025-04-30" in path.read_text()

    unknown = segflow("report", "--run", "42", env=env)
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "error: run 42 does not exist (see segflow.runs)"


def test_a_load_that_loads_nothing_fails_in_one_line_and_a_corrected_reading_replaces_it(db_url, tmp_path, fetch, db):
    path = tmp_path / "export.csv"
    path.write_text("Date,Client,Total\n14-Jan-15,c1,10\n15-Jan-15,c2,12\n")
    env = {"SEGFLOW_DATABASE_URL": db_url}
    mapping = "invoiced_at=Date,customer_id=Client,amount=Total"

    failed = segflow("load", str(path), "--map", mapping, env=env)
    assert failed.returncode == 1
    assert failed.stderr.count("\n") == 1 and failed.stderr.startswith("error: export.csv: all 2 lines were rejected")
    assert "nothing was loaded" in failed.stderr
    assert "pass --date-format with strptime codes for values like the first rejected one" in failed.stderr

    loaded = segflow("load", str(path), "--map", mapping, "--date-format", "%d-%b-%y", env=env)
    assert loaded.returncode == 0, loaded.stderr
    other = segflow("load", str(path), "--map", mapping, "--date-format", "%d-%b-%Y", env=env)
    assert other.returncode == 1
    assert "read another way (date_format '%d-%b-%y' then, '%d-%b-%Y' now)" in other.stderr
    assert "add --replace to this command" in other.stderr

    listed = segflow("batches", env={**env, "COLUMNS": "200"})
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines() if "export.csv" in line]
    assert [row.split("│")[2].strip() for row in rows] == ["imported", "failed"]
    batch = int(rows[0].split("│")[1])
    removed = segflow("batches", "remove", str(batch), env=env)
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.startswith(f"removed batch {batch}: 2 lines deleted")
    assert fetch(db, "select count(*) from segflow.transactions") == [(0,)]


def test_the_cli_words_library_errors_with_its_own_commands_and_options():
    from segflow.cli.wording import worded
    from segflow.data.attributes import MissingIdColumn
    from segflow.data.ingest.files import NotInEncoding
    from segflow.data.ingest.layouts import UnrecognisedHeader
    from segflow.data.ingest.parse import DatesReadBothWays
    from segflow.errors import NoChampion, SegflowError, UnknownFeature
    from segflow.modelling.registry import UnknownModelVersion
    from segflow.orchestration.prefect_server import PrefectServerUnavailable

    assert worded(NoChampion()) == "there is no champion model yet; run `segflow run` (or `segflow demo`) first"
    assert worded(UnknownModelVersion(7)) == "model version 7 does not exist (see: segflow models list)"
    assert worded(UnknownFeature(["x"], ["recency_days"], [])) == (
        "unknown feature(s) x; RFM features are recency_days; no customer attributes are loaded "
        "(segflow load-customers)"
    )
    assert worded(UnknownFeature(["x"], ["recency_days"], ["tenure"])) == (
        "unknown feature(s) x; RFM features are recency_days; loaded attributes are tenure"
    )
    assert worded(MissingIdColumn("f.csv", ["id"], ["name"])) == "f.csv: no customer id column (id); pass --id COLUMN"
    assert worded(MissingIdColumn("f.csv", ["id"], ["name"], given="key")) == "f.csv: no column 'key' (columns: name)"
    assert worded(UnrecognisedHeader(["a"], file="f.csv")) == (
        "f.csv: unrecognised header (a); expected the Online Retail or Online Retail II layout, "
        "or pass --map target=source,... (e.g. --map invoiced_at=Date,customer_id=Client,...)"
    )
    assert worded(NotInEncoding("f.csv", "utf-8", 3)) == (
        "f.csv: not valid utf-8 text at line 3; pass --encoding latin-1 (or the file's encoding)"
    )
    assert worded(PrefectServerUnavailable("/p/log", True, 12, "http://127.0.0.1:4200/api", 120)) == (
        "the embedded Prefect server (pid 12) did not answer at http://127.0.0.1:4200/api within 120 s; see "
        "/p/log (stop it with segflow prefect stop, then try again)"
    )
    assert worded(PrefectServerUnavailable("/p/log", False)) == (
        "the embedded Prefect server exited during its start; see /p/log"
    )
    assert worded(DatesReadBothWays("uk.csv", "01/12/2010 08:26", None, None)).endswith(
        "(pass --date-format '%d/%m/%Y %H:%M' for day-first dates, or '%m/%d/%Y %H:%M' for month-first)"
    )
    assert worded(DatesReadBothWays("uk.csv", "01/12/10", "13/12/10", None)).endswith("(pass --date-format '%d/%m/%y')")
    assert worded(SegflowError("anything else")) == "anything else"


def test_the_cli_prints_a_library_error_as_its_wording_table_says(db_url, tmp_path):
    env = {"SEGFLOW_DATABASE_URL": db_url}
    # The library's field (customers) becomes this command's option.
    spec = segflow("generate", "--customers", "0", env=env)
    assert (spec.returncode, spec.stderr.strip()) == (1, "error: --customers must be at least 1, got 0")
    # The library names the bad mapping entry; the CLI says which option held it.
    mapping = segflow("load", str(tmp_path / "any.csv"), "--map", "invoiced_at", env=env)
    assert (mapping.returncode, mapping.stderr.strip()) == (
        1,
        "error: --map: mapping entry 'invoiced_at' is not of the form target=source",
    )
    # The library finds the delimiter; the CLI adds the option that reads the file with it.
    semicolons = tmp_path / "semicolons.csv"
    semicolons.write_text("Invoice;StockCode;Quantity\n1;A;2\n")
    delimiter = segflow("load", str(semicolons), env=env)
    assert (delimiter.returncode, delimiter.stderr.strip()) == (
        1,
        "error: semicolons.csv: the header has one column; the file seems to use ';' as delimiter, not ',' "
        "(pass --delimiter ';')",
    )


def test_rebuild_check_finds_lines_not_folded_and_rebuild_mends_them(db_url, db, tmp_path):
    from support.data import insert_lines, make_rfm_lines

    env = {"SEGFLOW_DATABASE_URL": db_url, "SEGFLOW_HOME": str(tmp_path / "home"), "SEGFLOW_LOOKBACK_DAYS": "30"}
    assert segflow("generate", "--customers", "200", "--days", "60", "--start", "2024-02-01", env=env).returncode == 0
    exact = segflow("rebuild", "--check", "--as-of", "2024-03-31", env=env)
    assert exact.returncode == 0, exact.stderr
    assert " ".join(exact.stdout.split()) == (
        "the aggregates of segflow.transactions equal a full recompute from its lines as of 2024-03-31: "
        "200 customers, data-quality counts equal"
    )

    insert_lines(db, make_rfm_lines())  # plain SQL: waits as changed keys for the next fold
    status = segflow("db", "status", env=env)
    assert "14 changed keys to fold" in " ".join(status.stdout.split())
    stale = segflow("rebuild", "--check", "--as-of", "2024-03-31", env=env)
    assert stale.returncode == 1
    assert stale.stderr.startswith(
        "error: the aggregates differ from a full recompute as of 2024-03-31: 4 of 204 customers (e.g. A, B, C, D); "
        "counts (aggregates vs lines): lines_total "
    )
    assert stale.stderr.strip().endswith("; run `segflow rebuild`")

    rebuilt = segflow("rebuild", env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert " ".join(rebuilt.stdout.split()).startswith("aggregates of segflow.transactions rebuilt in ")
    assert "204 customers, lines up to 2024-04-01" in " ".join(rebuilt.stdout.split())
    assert segflow("rebuild", "--check", "--as-of", "2024-03-31", env=env).returncode == 0


def test_a_typo_in_the_yaml_settings_file_stops_every_command_naming_the_key_and_the_file(tmp_path):
    (tmp_path / "segflow.yaml").write_text("seed: 7\nmax_cluster: 6\n")
    result = segflow("models", "list", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: settings file {tmp_path / 'segflow.yaml'}: unknown key 'max_cluster'"


def test_ui_on_a_taken_port_names_the_option_and_setting_and_exits_1(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # --port wins over the setting (which names a port nobody uses).
        env = {"SEGFLOW_HOME": str(tmp_path / "home"), "SEGFLOW_UI_PORT": "1"}
        result = segflow("ui", "--port", str(port), env=env)

    assert result.returncode == 1
    assert result.stderr.startswith(f"error: cannot serve the app on 127.0.0.1:{port}: ")
    assert "choose a free port with --port or SEGFLOW_UI_PORT" in result.stderr
    assert not (tmp_path / "home" / "pg").exists(), "refused before starting a database"


@pytest.mark.slow  # starts a server process of its own
def test_db_start_with_a_tcp_port_and_what_status_and_create_bi_user_then_print():
    home = Path(tempfile.mkdtemp(prefix="sf-tcp-"))  # short: the socket path has a 107-byte limit
    port = free_port()
    env = {"SEGFLOW_HOME": str(home), "SEGFLOW_EMBEDDED_TCP_PORT": str(port), "COLUMNS": "250"}
    try:
        started = segflow("db", "start", env=env)
        assert started.returncode == 0, started.stderr
        assert started.stdout.splitlines() == [
            f"listening on 127.0.0.1:{port} too (password logins only)",
            f"postgresql://postgres@/segflow?host={home / 'pg'}&port={port}",
        ]
        status = " ".join(segflow("db", "status", env=env).stdout.split())
        assert f"tcp │ host 127.0.0.1, port {port}, database segflow (password logins only" in status
        assert "pending" not in status

        made = segflow("db", "create-bi-user", "analyst", env={**env, "SEGFLOW_BI_PASSWORD": "chosen-pw"})
        assert made.returncode == 0, made.stderr
        assert (
            f"over TCP: host 127.0.0.1, port {port}, database segflow, user analyst: "
            f"postgresql://analyst:***@127.0.0.1:{port}/segflow"
        ) in made.stdout
        conn = psycopg2.connect(embedded.tcp_url(port, "analyst", "chosen-pw"))
        try:
            with conn.cursor() as cur:
                cur.execute("select current_user")
                assert cur.fetchone() == ("analyst",)
        finally:
            conn.close()

        # The running server keeps its listener until it restarts, and status says what waits.
        without = " ".join(segflow("db", "status", env={"SEGFLOW_HOME": str(home), "COLUMNS": "250"}).stdout.split())
        assert "SEGFLOW_EMBEDDED_TCP_PORT is unset: applies after `segflow db stop` and `segflow db start`" in without

        # --port wins over the setting, and a running server keeps its listener, saying how to move it.
        assert segflow("db", "stop", env=env).returncode == 0
        other = free_port()
        moved = segflow("db", "start", "--port", str(other), env=env)
        assert moved.returncode == 0, moved.stderr
        assert moved.stdout.splitlines()[0] == f"listening on 127.0.0.1:{other} too (password logins only)"
        kept = segflow("db", "start", "--port", str(port), env=env)
        assert kept.stdout.splitlines()[:2] == [
            f"listening on 127.0.0.1:{other} too (password logins only)",
            "it was already running and keeps how it listens: `segflow db stop`, then "
            f"`segflow db start --port {port}`",
        ]
    finally:
        segflow("db", "stop", env=env)
        shutil.rmtree(home, ignore_errors=True)
