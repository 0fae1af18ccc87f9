"""The BI contract: segment_summary/segment_history on a hand-built history, the read-only role, and
every example query in docs/bi.md, run as a segflow_bi login."""

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import pytest
from pydantic import SecretStr

from segflow import bi
from segflow.db import Database
from segflow.errors import SegflowError
from segflow.stages import publish

DOCS = Path(__file__).resolve().parents[2] / "docs" / "bi.md"

# (customer, segment key, segment name, recency_days, frequency, monetary) per run.
RUN_A = [
    ("c1", "S1", "Champions", 2, 12, 500),
    ("c2", "S1", "Champions", 5, 9, 300),
    ("c3", "S2", "At risk", 50, 4, 100),
    ("c4", "S3", "Lost", 200, 1, 50),
]
RUN_B = [
    ("c1", "S2", "At risk", 40, 5, 200),
    ("c2", "S1", "Champions", 3, 10, 350),
    ("c3", "S2", "At risk", 60, 3, 100),
    ("c4", "S3", "Lost", 207, 1, 50),
    ("c5", "S1", "Champions", 1, 2, 250),
    ("c6", "S2", "At risk", 90, 1, 50),
]
# A replaced attempt of run B and a failed run: neither may show anywhere.
REPLACED_B = [("c1", "S1", "Champions", 1, 99, 9999)]
FAILED_C = [("c1", "S3", "Lost", 300, 1, 1)]


def _attempt(cur, as_of: date, status: str, rows: list[tuple]) -> int:
    cur.execute("insert into segflow.run_keys (as_of) values (%s) on conflict (as_of) do nothing", (as_of,))
    cur.execute(
        "insert into segflow.run_attempts (run_id, as_of, status, features, lookback_days, window_start) "
        "select run_id, as_of, %s, array['recency_days'], 365, as_of - 365 from segflow.run_keys where as_of = %s "
        "returning attempt_id",
        (status, as_of),
    )
    attempt = cur.fetchone()[0]
    for customer, key, name, recency, frequency, monetary in rows:
        cur.execute(
            "insert into segflow.customer_features (attempt_id, customer_id, recency_days, frequency, "
            "monetary) values (%s, %s, %s, %s, %s)",
            (attempt, customer, recency, frequency, monetary),
        )
        cur.execute(
            "insert into segflow.segment_assignments (attempt_id, customer_id, segment_key, segment_name, "
            "action) values (%s, %s, %s, %s, 'act')",
            (attempt, customer, key, name),
        )
    return attempt


@pytest.fixture
def history(db):
    """Two runs a week apart published as the pipeline publishes (B current; B's first attempt replaced by
    a rerun), and a failed run."""
    for as_of, rows in ((date(2026, 1, 1), RUN_A), (date(2026, 1, 8), REPLACED_B), (date(2026, 1, 8), RUN_B)):
        with db.transaction() as cur:
            attempt = _attempt(cur, as_of, "running", rows)
        publish.publish(db, db.settings, attempt)
    with db.transaction() as cur:
        _attempt(cur, date(2026, 1, 9), "failed", FAILED_C)
    return db


@pytest.fixture
def bi_login(db, db_url):
    """A fresh segflow_bi login (roles belong to the server, so each test makes and drops its own)."""
    name = f"bi_{uuid.uuid4().hex[:10]}"
    login = bi.create_bi_user(db, name)
    yield login
    with db.transaction() as cur:
        cur.execute(f'drop role "{name}"')  # test cleanup; the name is generated above


def _connect(url: str):
    conn = psycopg2.connect(url)
    conn.autocommit = True
    return conn


def _query(url: str, statement: str) -> list[tuple]:
    conn = _connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
            return cur.fetchall()
    finally:
        conn.close()


def test_segment_summary_has_size_share_mean_and_median_per_published_run_and_segment(history, fetch):
    rows = fetch(
        history,
        "select as_of, segment_key, segment_name, customers, round(share::numeric, 4), "
        "round(mean_recency_days::numeric, 2), median_recency_days, "
        "round(mean_monetary::numeric, 2), median_monetary, total_monetary, is_current "
        "from segflow.segment_summary order by as_of, segment_key",
    )
    assert rows == [
        (
            date(2026, 1, 1),
            "S1",
            "Champions",
            2,
            Decimal("0.5000"),
            Decimal("3.50"),
            3.5,
            Decimal("400.00"),
            400.0,
            800,
            False,
        ),
        (
            date(2026, 1, 1),
            "S2",
            "At risk",
            1,
            Decimal("0.2500"),
            Decimal("50.00"),
            50.0,
            Decimal("100.00"),
            100.0,
            100,
            False,
        ),
        (
            date(2026, 1, 1),
            "S3",
            "Lost",
            1,
            Decimal("0.2500"),
            Decimal("200.00"),
            200.0,
            Decimal("50.00"),
            50.0,
            50,
            False,
        ),
        # At risk in B: recency 40, 60, 90 -> mean 63.33, median 60; monetary 200, 100, 50 -> 116.67, 100.
        (
            date(2026, 1, 8),
            "S1",
            "Champions",
            2,
            Decimal("0.3333"),
            Decimal("2.00"),
            2.0,
            Decimal("300.00"),
            300.0,
            600,
            True,
        ),
        (
            date(2026, 1, 8),
            "S2",
            "At risk",
            3,
            Decimal("0.5000"),
            Decimal("63.33"),
            60.0,
            Decimal("116.67"),
            100.0,
            350,
            True,
        ),
        (
            date(2026, 1, 8),
            "S3",
            "Lost",
            1,
            Decimal("0.1667"),
            Decimal("207.00"),
            207.0,
            Decimal("50.00"),
            50.0,
            50,
            True,
        ),
    ]


def test_segment_history_has_one_row_per_customer_per_published_run(history, fetch):
    assert fetch(history, "select as_of, count(*) from segflow.segment_history group by as_of order by as_of") == [
        (date(2026, 1, 1), 4),
        (date(2026, 1, 8), 6),
    ]
    assert fetch(
        history,
        "select as_of, segment_name, monetary, is_current from segflow.segment_history "
        "where customer_id = 'c1' order by as_of",
    ) == [(date(2026, 1, 1), "Champions", 500, False), (date(2026, 1, 8), "At risk", 200, True)]


def test_a_bi_login_reads_every_bi_relation(history, bi_login):
    for relation in bi.BI_RELATIONS:
        _query(bi_login.url, f"select count(*) from segflow.{relation}")  # relation names are constants
    assert _query(bi_login.url, "select count(*) from current_segments") == [(6,)]  # search_path = segflow


@pytest.mark.parametrize(
    "statement",
    [
        "select count(*) from segflow.transactions",
        "select count(*) from segflow.segment_assignments",
        "select count(*) from segflow.customer_features",
        "select count(*) from segflow.import_rejects",
    ],
)
def test_a_bi_login_cannot_read_raw_tables(history, bi_login, statement):
    table = statement.rsplit(".", 1)[1]
    with pytest.raises(psycopg2.errors.InsufficientPrivilege, match=f"permission denied for table {table}"):
        _query(bi_login.url, statement)


@pytest.mark.parametrize(
    "statement",
    [
        "insert into segflow.model_versions (version) values (99)",
        "delete from segflow.drift_reports",
        "update segflow.segment_transitions set customers = 0",
        "truncate segflow.segment_transitions",
        "create table segflow.scratch (a int)",
        "create table public.scratch (a int)",
        "create view segflow.mine as select 1",
        "drop view segflow.segment_summary",
    ],
)
def test_a_bi_login_cannot_write_or_change_the_schema_even_outside_read_only_mode(history, bi_login, statement):
    conn = _connect(bi_login.url)
    try:
        with conn.cursor() as cur:
            cur.execute("set default_transaction_read_only = off")
            with pytest.raises((psycopg2.errors.InsufficientPrivilege, psycopg2.errors.WrongObjectType)):
                cur.execute(statement)
    finally:
        conn.close()


def test_a_bi_login_is_read_only_by_default(history, bi_login):
    with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
        _query(bi_login.url, "create temporary table scratch (a int)")


def test_rerunning_create_bi_user_sets_a_new_password_on_the_same_login(db, bi_login):
    again = bi.create_bi_user(db, bi_login.name, "another-secret")
    assert not again.created and again.name == bi_login.name
    assert again.url.split("@")[0].endswith(f"{bi_login.name}:another-secret")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Analyst", "login name 'Analyst' must be 1-63 lower-case letters"),
        ("1st", "login name '1st' must be 1-63"),
        ("a;drop", "login name 'a;drop' must be 1-63"),
        ("pg_reader", "login name 'pg_reader' is reserved"),
        ("segflow_bi", "login name 'segflow_bi' is reserved"),
    ],
)
def test_bad_login_names_are_refused_by_name(db, name, message):
    with pytest.raises(SegflowError, match=re.escape(message)):
        bi.create_bi_user(db, name)


@contextmanager
def throwaway_role(db, prefix: str, options: str = "login password 'x'") -> Iterator[str]:
    """A role with a generated name (roles belong to the server), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with db.transaction() as cur:
        cur.execute(f'create role "{name}" {options}')  # generated name, constant options
    try:
        yield name
    finally:
        with db.transaction() as cur:
            cur.execute(f'drop role "{name}"')


def test_an_existing_role_outside_segflow_bi_is_not_taken_over(db):
    with (
        throwaway_role(db, "admin") as name,
        pytest.raises(SegflowError, match=f"role '{name}' already exists and is not a plain segflow_bi login"),
    ):
        bi.create_bi_user(db, name)


def test_a_stronger_member_of_segflow_bi_is_not_taken_over(db):
    with (
        throwaway_role(db, "boss", "login createdb in role segflow_bi") as name,
        pytest.raises(SegflowError, match=f"role '{name}' already exists and is not a plain segflow_bi login"),
    ):
        bi.create_bi_user(db, name, "pw")


def test_segflow_bi_may_select_exactly_the_bi_relations_in_the_schema(history, fetch):
    readable = fetch(
        history,
        "select c.relname from pg_catalog.pg_class as c "
        "inner join pg_catalog.pg_namespace as n on n.oid = c.relnamespace "
        "where n.nspname = 'segflow' and c.relkind in ('r', 'v', 'm', 'p') "
        "and has_table_privilege('segflow_bi', c.oid, 'select') order by 1",
    )
    assert [name for (name,) in readable] == sorted(bi.BI_RELATIONS)
    writable = fetch(
        history,
        "select count(*) from pg_catalog.pg_class as c "
        "inner join pg_catalog.pg_namespace as n on n.oid = c.relnamespace "
        "where n.nspname = 'segflow' and c.relkind in ('r', 'v', 'm', 'p') and "
        "has_table_privilege('segflow_bi', c.oid, 'insert, update, delete, truncate')",
    )
    assert writable == [(0,)]


def test_the_password_reaches_the_server_hashed(db, bi_login, fetch):
    stored = fetch(db, "select rolpassword from pg_catalog.pg_authid where rolname = %s", (bi_login.name,))[0][0]
    assert stored.startswith("SCRAM-SHA-256$") and bi_login.password not in stored


def test_a_user_without_createrole_gets_a_one_line_reason(db, settings):
    with throwaway_role(db, "plain") as name:  # no CREATEROLE
        plain = Database(settings.model_copy(update={"database_url": SecretStr(bi.login_url(db.url, name, "x"))}))
        with pytest.raises(
            SegflowError,
            match="^no permission to add the role 'someone' .*: the user in "
            "SEGFLOW_DATABASE_URL needs CREATEROLE and, on PostgreSQL 16",
        ):
            bi.create_bi_user(plain, "someone")


def test_login_url_replaces_user_and_password_and_keeps_the_rest():
    assert (
        bi.login_url("postgresql://postgres@/segflow?host=/tmp/pg", "analyst", "p@ss/w")
        == "postgresql://analyst:p%40ss%2Fw@/segflow?host=/tmp/pg"
    )
    assert (
        bi.login_url("postgresql://admin:secret@db.internal:5433/segs?sslmode=require", "bi", "x")
        == "postgresql://bi:x@db.internal:5433/segs?sslmode=require"
    )
    # libpq would let user=/password= parameters override the BI login: they go.
    assert (
        bi.login_url("postgresql://db/segs?user=admin&password=topsecret&sslmode=require", "bi", "x")
        == "postgresql://bi:x@db/segs?sslmode=require"
    )


# --- docs/bi.md -------------------------------------------------------------------------------------


def documented_queries() -> dict[str, str]:
    """Each '### question' heading of docs/bi.md with the SQL block under it."""
    text = DOCS.read_text()
    return dict(re.findall(r"^### (.+?)\n.*?```sql\n(.*?)```", text, flags=re.S | re.M))


EXPECTED = {
    "Segment sizes over time": [
        (date(2026, 1, 1), "At risk", 1, Decimal("0.250")),
        (date(2026, 1, 1), "Champions", 2, Decimal("0.500")),
        (date(2026, 1, 1), "Lost", 1, Decimal("0.250")),
        (date(2026, 1, 8), "At risk", 3, Decimal("0.500")),
        (date(2026, 1, 8), "Champions", 2, Decimal("0.333")),
        (date(2026, 1, 8), "Lost", 1, Decimal("0.167")),
    ],
    # c1 was a Champion on Jan 1 and is At risk on Jan 8; c3 was already At risk.
    "Customers who moved from Champions to At risk this week": [
        ("c1", date(2026, 1, 1), date(2026, 1, 8), Decimal("200")),
    ],
    # Champions 350 + 250, At risk 200 + 100 + 50, Lost 50: of 1,000.
    "Revenue share by segment": [
        ("Champions", Decimal("600"), Decimal("0.600")),
        ("At risk", Decimal("350"), Decimal("0.350")),
        ("Lost", Decimal("50"), Decimal("0.050")),
    ],
}


def test_docs_have_the_three_example_questions():
    assert set(documented_queries()) == set(EXPECTED)


@pytest.mark.parametrize("question", sorted(EXPECTED))
def test_each_documented_query_answers_its_question_as_a_bi_login(history, bi_login, question):
    assert _query(bi_login.url, documented_queries()[question]) == EXPECTED[question]


def test_upgrading_a_database_with_published_runs_fills_their_summaries(blank_db, fetch):
    from segflow import migrations

    migrations.upgrade(blank_db, target=4)
    with blank_db.transaction() as cur:  # published as 004 published: no summary rows were written then
        attempt = _attempt(cur, date(2026, 1, 1), "published", RUN_A)
        cur.execute("insert into segflow.current_run (attempt_id) values (%s)", (attempt,))
    migrations.upgrade(blank_db)
    assert fetch(
        blank_db,
        "select segment_key, customers, total_monetary, is_current from segflow.segment_summary order by segment_key",
    ) == [("S1", 2, 800, True), ("S2", 1, 100, True), ("S3", 1, 50, True)]


def test_an_inactive_segment_has_no_feature_means_and_no_revenue(db, fetch):
    with db.transaction() as cur:
        attempt = _attempt(cur, date(2026, 2, 1), "running", [("c1", "S1", "Champions", 2, 12, 500)])
        cur.execute("insert into segflow.customer_features (attempt_id, customer_id) values (%s, 'c9')", (attempt,))
        cur.execute(
            "insert into segflow.segment_assignments (attempt_id, customer_id, segment_key, segment_name, "
            "action) values (%s, 'c9', 'inactive', 'inactive', 'act')",
            (attempt,),
        )
    publish.publish(db, db.settings, attempt)
    assert fetch(
        db,
        "select segment_key, customers, share, mean_recency_days, median_monetary, total_monetary "
        "from segflow.segment_summary order by segment_key",
    ) == [("S1", 1, 0.5, 2.0, 500.0, 500), ("inactive", 1, 0.5, None, None, 0)]


def test_migration_005_without_createrole_leaves_the_role_to_create_bi_user(blank_db, settings, fetch):
    """A database owner without CREATEROLE can migrate; the BI group is made later by someone who may."""
    from segflow import migrations

    owner = f"owner_{uuid.uuid4().hex[:8]}"
    database = urlsplit(blank_db.url).path.lstrip("/")
    with blank_db.transaction() as cur:  # generated names
        cur.execute(f"create role \"{owner}\" login password 'x'")  # every login but segflow's own needs one
        cur.execute(f'alter database "{database}" owner to "{owner}"')
        cur.execute(f'grant create on database "{database}" to "{owner}"')
        existed = fetch(blank_db, "select count(*) from pg_roles where rolname = 'segflow_bi'")[0][0]
        if existed:  # other tests on this server made it; hide it from this one by renaming for a moment
            cur.execute("alter role segflow_bi rename to segflow_bi_aside")
    try:
        as_owner = Database(
            settings.model_copy(update={"database_url": SecretStr(bi.login_url(blank_db.url, owner, "x"))})
        )
        applied = migrations.upgrade(as_owner)
        assert [m.version for m in applied][-1] == migrations.available_migrations()[-1].version
        assert fetch(blank_db, "select count(*) from pg_roles where rolname = 'segflow_bi'") == [(0,)]
    finally:
        with blank_db.transaction() as cur:
            if existed:
                cur.execute("alter role segflow_bi_aside rename to segflow_bi")
    login = bi.create_bi_user(blank_db, f"late_{uuid.uuid4().hex[:8]}")
    try:
        assert _query(login.url, "select count(*) from segflow.segment_summary") == [(0,)]
    finally:
        with blank_db.transaction() as cur:
            cur.execute(f'drop role "{login.name}"')
            cur.execute(f'alter database "{database}" owner to current_user')
            cur.execute(f'drop owned by "{owner}"')
            cur.execute(f'drop role "{owner}"')
