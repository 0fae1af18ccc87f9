"""`segflow api` as a user runs it: a real uvicorn process on a loopback port, connected as a read-only BI login."""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import httpx
import psycopg2.errors
import pytest
from support.cli import segflow_in_process
from support.databases import database_for_test, filled_template

from segflow.data.generate import GeneratorSpec, generate_transactions
from segflow.modelling import registry
from segflow.serving import bi
from segflow.stages import run_nightly

SPEC = GeneratorSpec(customers=400, days=120, seed=5, start=date(2024, 1, 1))
LAST_DAY = date(2024, 4, 29)
TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CUSTOMER = {"customer_id": "x1", "features": {"recency_days": 3, "frequency": 12, "monetary": 4000}}
MAX_BODY = 64 * 1024  # the limits the tests' API runs with: small, so that 3 times over is quick to send
MAX_FILE = 128 * 1024
MAX_LINE = 16 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def bi_login(db):
    name = f"api_{uuid.uuid4().hex[:10]}"
    login = bi.create_bi_user(db, name)
    yield login
    with db.transaction() as cur:
        cur.execute(f'drop role "{name}"')  # test cleanup; the name is generated above


@pytest.fixture(scope="module")
def champion_template(server_url, template_database, tmp_path_factory):
    """SPEC's lines and a published run of LAST_DAY with its champion (v1), run once for the module."""

    def generate_and_run(db, settings):
        generate_transactions(db, SPEC)
        run_nightly(db, settings, LAST_DAY)

    home = tmp_path_factory.mktemp("champion") / "home"
    yield from filled_template(server_url, template_database, home, generate_and_run)


@pytest.fixture
def db_url(request, server_url, template_database, home):
    """A test that asks for `champion` gets a clone of `champion_template`; the others an empty migrated one."""
    yield from database_for_test(request, server_url, template_database, home, {"champion": "champion_template"})


@pytest.fixture
def champion(db):
    """The database with a champion (v1) and a published run of LAST_DAY (a clone of `champion_template`)."""
    return db


@pytest.fixture
def api(champion, bi_login, db_url, tmp_path):
    """A champion (v1), then `segflow api` with a token, as the BI login; yields (base URL, db, server process)."""
    db = champion
    with _serving(tmp_path, SEGFLOW_DATABASE_URL=db_url, SEGFLOW_API_DATABASE_URL=bi_login.url) as (base, process):
        yield base, db, process


@contextlib.contextmanager
def _serving(tmp_path, **settings):
    """`segflow api` (token TOKEN, body limits MAX_BODY and MAX_FILE, line limit MAX_LINE) until the block ends;
    yields its base URL and process."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGFLOW_")}
    env.update(
        SEGFLOW_HOME=str(tmp_path / "home"),
        SEGFLOW_API_TOKEN=TOKEN,
        SEGFLOW_API_MAX_BODY_BYTES=str(MAX_BODY),
        SEGFLOW_API_MAX_FILE_BYTES=str(MAX_FILE),
        SEGFLOW_API_BODY_TIMEOUT_SECONDS="3",
        SEGFLOW_UPLOAD_MAX_LINE_BYTES=str(MAX_LINE),
    )
    env.update(settings)
    log = (tmp_path / "api.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "segflow", "api", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code in (200, 503):
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"segflow api did not start: {(tmp_path / 'api.log').read_text()}")
            time.sleep(0.2)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_the_api_scores_names_bad_fields_guards_with_the_token_and_follows_promotions(api, settings, fetch):
    base, db, _ = api
    with httpx.Client(base_url=base, timeout=10) as client:
        health = client.get("/health").json()  # no token needed
        assert health == {"status": "ok", "database": "reachable", "champion_version": 1, "loaded_version": None}

        assert client.post("/score", json=CUSTOMER).status_code == 401
        assert client.post("/score", json=CUSTOMER, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/segments").status_code == 401

        scored = client.post("/score", json=CUSTOMER, headers=AUTH)
        assert scored.status_code == 200
        answer = scored.json()
        names = dict(fetch(db, "select segment_key, name from segflow.model_segments where model_version = 1"))
        assert answer["customer_id"] == "x1" and answer["model_version"] == 1
        assert answer["segment_name"] == names[answer["segment_key"]]
        assert 0 <= answer["confidence"] <= 1 and answer["distance"] >= 0 and answer["action"]

        not_a_number = client.post(
            "/score", json={"features": {**CUSTOMER["features"], "monetary": "lots"}}, headers=AUTH
        )
        assert not_a_number.status_code == 422
        assert not_a_number.json()["detail"][0]["loc"] == ["body", "features", "monetary"]
        missing = client.post("/score", json={"features": {"recency_days": 3, "frequency": 2}}, headers=AUTH)
        assert missing.status_code == 422
        assert missing.json()["detail"][0]["loc"] == ["body", "features", "monetary"]
        negative = client.post(
            "/score/batch",
            json={"customers": [CUSTOMER, {"features": {"recency_days": -1, "frequency": 2, "monetary": 5}}]},
            headers=AUTH,
        )
        assert negative.status_code == 422
        assert negative.json()["detail"] == [
            {
                "type": "value_error",
                "loc": ["body", "customers", 1, "features", "recency_days"],
                "msg": "recency must be 0 or more days, got -1",
                "input": None,
            }
        ]

        batch = client.post("/score/batch", json={"customers": [CUSTOMER, CUSTOMER]}, headers=AUTH).json()
        assert batch["scores"] == [answer, answer]

        csv = "customer_id,recency_days,frequency,monetary\nx1,3,12,4000\nbad,1,abc,5\n"
        scored_file = client.post("/score/file", files={"file": ("c.csv", csv, "text/csv")}, headers=AUTH)
        assert scored_file.status_code == 200
        assert scored_file.headers["x-segflow-row-errors"] == "1"
        lines = scored_file.text.splitlines()
        assert lines[0] == (
            "customer_id,recency_days,frequency,monetary,segment_key,segment_name,action,distance,confidence,"
            "model_version"
        )
        assert len(lines) == 2 and lines[1].startswith(f"x1,3.0,12.0,4000.0,{answer['segment_key']},")
        as_json = client.post(
            "/score/file", params={"format": "json"}, files={"file": ("c.csv", csv)}, headers=AUTH
        ).json()
        assert as_json["errors"] == [{"row": 2, "column": "frequency", "message": "frequency: 'abc' is not a number"}]

        someone = fetch(db, "select customer_id, segment_key from segflow.current_segments limit 1")[0]
        customer = client.get(f"/customers/{someone[0]}", headers=AUTH).json()
        assert customer["current"]["segment_key"] == someone[1] and len(customer["history"]) == 1
        nobody = client.get("/customers/nobody", headers=AUTH)
        # The sentence, and the error's fields beside it for a caller that acts on values.
        assert nobody.status_code == 404 and nobody.json() == {
            "detail": "unknown customer 'nobody': no published run has segmented them",
            "error": {"type": "UnknownCustomer", "customer_id": "nobody"},
        }

        segments = client.get("/segments", headers=AUTH).json()
        assert segments["as_of"] == "2024-04-29"
        shown = {s["segment_key"]: (s["segment_name"], s["customers"]) for s in segments["segments"]}
        assert shown == {
            key: (name, count)
            for key, name, count in fetch(
                db, "select segment_key, segment_name, count(*) from segflow.current_segments group by 1, 2"
            )
        }
        assert all(s["action"] for s in segments["segments"])  # rule segments ('inactive', 'lost', ...) too

        docs = client.get("/docs", headers=AUTH)
        assert docs.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in docs.text  # no CDN: works offline
        assert client.get("/docs-assets/swagger-ui-bundle.js", headers=AUTH).status_code == 200
        assert "/score/batch" in client.get("/openapi.json", headers=AUTH).json()["paths"]

        # A promotion is picked up without a restart (the champion is checked at most once a second).
        run_nightly(db, settings, date(2024, 4, 1), retrain="always")
        assert registry.champion(db) == 1
        registry.promote(db, 2)
        deadline = time.monotonic() + 15
        while client.post("/score", json=CUSTOMER, headers=AUTH).json()["model_version"] != 2:
            assert time.monotonic() < deadline, "the promotion of v2 was not picked up"
            time.sleep(0.3)
        assert client.get("/health").json()["loaded_version"] == 2


def test_the_api_login_cannot_write(api, bi_login):
    import psycopg2

    conn = psycopg2.connect(bi_login.url)
    try:
        with conn.cursor() as cur, pytest.raises(psycopg2.Error):
            cur.execute("delete from segflow.model_versions")
    finally:
        conn.close()


def _status_and_body(base: str, request: bytes, body_chunks: list[bytes]) -> tuple[int, bytes, int]:
    """Send a raw request and as much of its body as the server takes; (status, response, body bytes sent)."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        sent = 0
        for chunk in body_chunks:
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break  # the server answered and closed: the rest is not read
            sent += len(chunk)
        response = b""
        with contextlib.suppress(ConnectionResetError):
            while piece := sock.recv(65536):
                response += piece
    status = int(response.split(b" ", 2)[1])
    return status, response.partition(b"\r\n\r\n")[2], sent


def test_hostile_input_gets_a_short_4xx_naming_the_field(api):
    base, *_ = api
    features = CUSTOMER["features"]
    with httpx.Client(base_url=base, timeout=10, headers=AUTH) as client:

        def rejected(path: str, body: str, status: int = 422) -> list[dict]:
            answer = client.post(path, content=body, headers={"Content-Type": "application/json"})
            assert answer.status_code == status, answer.text
            assert len(answer.content) < 2_000
            return answer.json()["detail"]

        # JSON's non-standard NaN/Infinity and a number beyond float: 422, the value shown as text (not a 500).
        assert rejected("/score", "NaN") == [
            {
                "type": "model_attributes_type",
                "loc": ["body"],
                "msg": "Input should be a valid dictionary or object to extract fields from",
                "input": "nan",
            }
        ]
        for literal, shown in (("NaN", "nan"), ("Infinity", "inf"), ("-Infinity", "-inf"), ("1e309", "inf")):
            body = '{"features": {"recency_days": 3, "frequency": 2, "monetary": ' + literal + "}}"
            detail = rejected("/score", body)
            assert [(d["loc"], d["input"]) for d in detail] == [(["body", "features", "monetary"], shown)]
        # Finite but so large the distance would overflow: the scorer's bound names it.
        detail = rejected("/score", '{"features": {"recency_days": 3, "frequency": 2, "monetary": 1e308}}')
        assert detail == [
            {
                "type": "value_error",
                "loc": ["body", "features", "monetary"],
                "msg": "monetary must be between -1e+15 and 1e+15, got 1e+308",
                "input": None,
            }
        ]
        # Long text is shown as its first 79 characters and an ellipsis, in the value and in a key alike.
        detail = rejected("/score", json.dumps({"features": {**features, "monetary": "9" * 50_000}}))
        assert detail[0]["input"] == "9" * 79 + "…"
        detail = rejected("/score", json.dumps({"features": {**features, "k" * 5_000: "x"}}))
        assert detail[0]["loc"] == ["body", "features", "k" * 79 + "…"]
        detail = rejected("/score", json.dumps({"customer_id": "c" * 201, "features": features}))
        assert detail[0]["loc"] == ["body", "customer_id"] and detail[0]["type"] == "string_too_long"

        # 10,001 customers: one short entry, not the request sent back.
        too_many = rejected("/score/batch", json.dumps({"customers": [{}] * 10_001}))
        assert [d["loc"] for d in too_many] == [["body", "customers"]]

        # Ids with a NUL or other control character, or over 200 characters, never reach PostgreSQL.
        for bad in ("%00", "a%00b", "%0a", "x" * 201):
            answer = client.get(f"/customers/{bad}")
            assert answer.status_code == 422 and len(answer.content) < 2_000
            assert answer.json()["detail"][0]["loc"] == ["path", "customer_id"]
        assert client.get("/customers/" + "x" * 200).status_code == 404
        assert client.get("/customers/..%2F..%2Fetc%2Fpasswd").status_code == 404
        assert client.get("/docs-assets/..%2F..%2Fswagger_ui_bundle%2F__init__.py").status_code == 404
        assert client.get("/docs-assets/index.html").status_code == 404


def test_a_body_over_the_limit_is_refused_before_it_is_read_or_the_token_checked(api):
    base, *_ = api
    over = 3 * MAX_BODY
    request = f"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {over}\r\n\r\n"
    # Declared too large: 413 at once, though only the headers were sent (no token either: the size comes first).
    status, body, _ = _status_and_body(base, request.encode(), [])
    assert status == 413 and json.loads(body) == {"detail": "the request body is larger than the limit of 65,536 bytes"}

    # Chunked, so undeclared: counted while it streams, refused once past the limit.
    chunk = b"x" * 16_384
    chunked = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * (over // len(chunk)) + [b"0\r\n\r\n"]
    request = "POST /score/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    request += f"Transfer-Encoding: chunked\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
    status, body, _ = _status_and_body(base, request.encode(), chunked)
    assert status == 413 and b"65,536 bytes" in body

    # A body that does not all arrive within SEGFLOW_API_BODY_TIMEOUT_SECONDS (3 here): 408, the connection freed.
    request = "POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    status, body, _ = _status_and_body(base, request.encode(), [])
    assert status == 408 and json.loads(body) == {"detail": "the request body did not arrive within 3 s"}

    # /score/file has its own, larger limit: 100 KB passes there and not on /score.
    rows = "customer_id,recency_days,frequency,monetary\n" + "x1,3,12,4000\n" * 8_000
    assert 100_000 < len(rows) < MAX_FILE
    with httpx.Client(base_url=base, timeout=10, headers=AUTH) as client:
        answer = client.post("/score/file", files={"file": ("c.csv", rows, "text/csv")})
        assert answer.status_code == 200 and answer.headers["x-segflow-rows-scored"] == "8000"
        assert client.post("/score", content=rows).status_code == 413


def _peak_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_hostile_uploads_get_one_short_sentence_and_the_server_stays_small(api):
    base, _, process = api
    with httpx.Client(base_url=base, timeout=30, headers=AUTH) as client:

        def answer(body: bytes, status: int) -> httpx.Response:
            sent = client.post("/score/file", files={"file": ("h.csv", body, "text/csv")})
            assert sent.status_code == status, sent.text
            return sent

        def refused(body: bytes, status: int = 413) -> str:
            sent = answer(body, status)
            assert len(sent.content) < 300  # one sentence, not the input
            return sent.json()["detail"]

        # Warm-up: the model's first load and every code path once, with the largest file the limit lets in (~128 KB,
        # 8,000 rows); then the peak to compare with.
        big = b"customer_id,recency_days,frequency,monetary\n" + b"x1,3,12,4000\n" * 8_000
        assert answer(big, 200).headers["x-segflow-rows-scored"] == "8000"
        answer(b"," * 2_000 + b"\n1\n", 413)
        peak_before = _peak_mb(process.pid)

        # The issue's 10 MB header of 5.2 million empty names and 5 MB row of commas, scaled under the 128 KiB limit.
        assert refused(b"," * 2_000 + b"\n1\n") == (
            "h.csv: the header has 2,001 columns, more than the limit of 1,000 (SEGFLOW_UPLOAD_MAX_COLUMNS)"
        )
        line_limit = "is longer than the limit of 16,384 bytes (SEGFLOW_UPLOAD_MAX_LINE_BYTES)"
        assert refused(b"," * 100_000 + b"\n") == f"h.csv: line 1 {line_limit}"
        assert (
            refused(b"customer_id,recency_days,frequency,monetary\n" + b"," * 100_000) == f"h.csv: line 2 {line_limit}"
        )
        assert refused(b"\x00\xff\xfe" * 1_000, 400).startswith("h.csv: not a readable CSV file (not utf-8-sig text")
        assert refused("customer_id\n".encode("utf-16"), 400).startswith("h.csv: not a readable CSV file")
        # Rows whose every cell is a formula: scored, and every one goes back as text.
        rows = (
            'customer_id,recency_days,frequency,monetary,a,b,c\n"=HYPERLINK(""http://evil.example"",""x"")",3,12,4000,'
        )
        rows += "+cmd,@x,-2+3\n"
        scored = answer(rows.encode(), 200).text.splitlines()[1]
        assert scored.startswith('"\'=HYPERLINK(""http://evil.example"",""x"")",3.0,12.0,4000.0,\'+cmd,\'@x,\'-2+3,')
        # The largest file again, three times, each answered in full.
        for _ in range(3):
            assert answer(big, 200).headers["x-segflow-rows-scored"] == "8000"

        # At most 10 MB over the server's warm peak (~240 MB): each refusal is decided on a few KB, and a scored file is
        # written chunk by chunk to a spooled file. Larger files: benchmarks/bench_upload_memory.py (+66 MB for 200 MB).
        assert _peak_mb(process.pid) - peak_before < 10


def test_the_api_database_cancels_a_query_longer_than_the_request_time_limit(settings):
    from psycopg2.errors import QueryCanceled

    from segflow.serving.api.app import api_database

    db = api_database(settings.model_copy(update={"api_request_timeout_seconds": 0.2}))
    with pytest.raises(QueryCanceled), db.transaction() as cur:
        cur.execute("select pg_sleep(2)")
    with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction), db.transaction() as cur:
        cur.execute("create temporary table t (x int)")


def test_docs_need_the_token_and_health_names_no_server_when_the_database_is_down(api, db_url, tmp_path):
    base, *_ = api
    with httpx.Client(base_url=base, timeout=10) as client:
        for path in ("/docs", "/openapi.json", "/docs-assets/swagger-ui.css"):
            assert client.get(path).status_code == 401, path
    (tmp_path / "down").mkdir()
    hidden = tmp_path / "no-server-here"
    with (
        _serving(
            tmp_path / "down",
            SEGFLOW_DATABASE_URL=db_url,  # segflow's own (migrations); the API's is a socket where nothing listens
            SEGFLOW_API_DATABASE_URL=f"postgresql://reader@/secretdb?host={hidden}",
        ) as (down, _),
        httpx.Client(base_url=down, timeout=10) as client,
    ):
        health = client.get("/health")
        assert health.status_code == 503 and health.json() == {"detail": "database unreachable"}
        segments = client.get("/segments", headers=AUTH)
        assert segments.status_code == 503 and segments.json() == {"detail": "database unreachable"}


@pytest.mark.slow  # starts a server process of its own
def test_segflow_api_stops_within_seconds_on_sigterm_during_a_slow_upload(db_url, tmp_path):
    # A body deadline longer than the test: the request is still running when SIGTERM comes.
    with _serving(tmp_path, SEGFLOW_DATABASE_URL=db_url, SEGFLOW_API_BODY_TIMEOUT_SECONDS="60") as (base, process):
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(f"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_BODY}\r\n\r\n{{".encode())
            time.sleep(0.5)  # the request is in the app now, waiting for the rest of its body
            process.terminate()
            # uvicorn waits for running requests at most GRACEFUL_SHUTDOWN_SECONDS (5): without it, for ever, so a
            # server still running after 8 s raises TimeoutExpired here.
            process.wait(timeout=8)


@pytest.mark.slow  # starts a server process of its own
def test_segflow_api_stops_within_seconds_on_sigterm_while_it_scores_a_large_file(champion, db_url, tmp_path):
    # 1.5 million rows (~22 MB) take ~8 s to score here. SIGTERM comes 4 s after the file went in, while the scoring
    # thread runs: uvicorn waits its graceful 5 s, cancels the request, then re-raises SIGTERM, so the process ends
    # without waiting for that thread (measured: 5.2 s after SIGTERM).
    rows = b"x1,3,12,4000\r\n" * 1_500_000
    part = b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n'
    body = part + b"customer_id,recency_days,frequency,monetary\r\n" + rows + b"\r\n--b--\r\n"
    head = f"POST /score/file HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
    head += f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {len(body)}\r\n\r\n"
    limits = {"SEGFLOW_API_MAX_FILE_BYTES": str(40 << 20), "SEGFLOW_API_BODY_TIMEOUT_SECONDS": "60"}
    with _serving(tmp_path, SEGFLOW_DATABASE_URL=db_url, **limits) as (base, process):
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(head.encode() + body)
            time.sleep(4.0)  # the file is in (multipart parsed), its scoring under way
            process.terminate()
            process.wait(timeout=9)


@pytest.mark.parametrize(
    ("host", "token", "warned"),
    [("0.0.0.0", None, True), ("0.0.0.0", TOKEN, False), ("127.0.0.1", None, False), ("localhost", None, False)],
)
def test_segflow_api_warns_when_it_listens_beyond_loopback_without_a_token(
    host, token, warned, db_url, tmp_path, monkeypatch
):
    import uvicorn

    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append(options))  # nothing listens
    monkeypatch.delenv("SEGFLOW_API_TOKEN", raising=False)
    env = {"SEGFLOW_DATABASE_URL": db_url, "SEGFLOW_HOME": str(tmp_path / "home")}
    result = segflow_in_process("api", "--host", host, env=env | ({"SEGFLOW_API_TOKEN": token} if token else {}))
    warning = (
        f"warning: the API listens on {host} and has no token (SEGFLOW_API_TOKEN): whoever reaches it can score "
        "and read every customer's segment"
    )
    assert (warning in result.output) is warned
    assert served == [
        {"host": host, "port": 8765, "workers": 1, "log_level": "warning", "timeout_graceful_shutdown": 5}
    ]
