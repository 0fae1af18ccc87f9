"""`segflow api` as a user runs it: a real uvicorn process on a loopback port, connected as a read-only BI login."""

import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import date

import httpx
import pytest

from segflow import bi, registry
from segflow.generate import GeneratorSpec, generate_transactions
from segflow.stages import run_nightly

SPEC = GeneratorSpec(customers=400, days=120, seed=5, start=date(2024, 1, 1))
LAST_DAY = date(2024, 4, 29)
TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CUSTOMER = {"customer_id": "x1", "features": {"recency_days": 3, "frequency": 12, "monetary": 4000}}


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


@pytest.fixture
def api(db, settings, bi_login, db_url, tmp_path):
    """A champion (v1), then `segflow api` with a token, as the BI login; yields (base URL, db)."""
    generate_transactions(db, SPEC)
    run_nightly(db, settings, LAST_DAY)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGFLOW_")}
    env.update(
        SEGFLOW_DATABASE_URL=db_url,
        SEGFLOW_HOME=str(tmp_path / "home"),
        SEGFLOW_API_DATABASE_URL=bi_login.url,
        SEGFLOW_API_TOKEN=TOKEN,
    )
    log = (tmp_path / "api.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "segflow", "api", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"segflow api did not start: {(tmp_path / 'api.log').read_text()}")
            time.sleep(0.2)
        yield base, db
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_the_api_scores_names_bad_fields_guards_with_the_token_and_follows_promotions(api, settings, fetch):
    base, db = api
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
        assert client.get("/customers/nobody", headers=AUTH).status_code == 404

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

        docs = client.get("/docs")
        assert docs.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in docs.text  # no CDN: works offline
        assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
        assert "/score/batch" in client.get("/openapi.json").json()["paths"]

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
