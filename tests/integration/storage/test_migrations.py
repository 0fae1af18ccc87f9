"""Schema migrations against a real PostgreSQL: fresh, repeated, with data present, tampered."""

import shutil

import pytest

from segflow.errors import MigrationError
from segflow.storage import db as db_module
from segflow.storage import migrations


def test_fresh_database_gets_every_migration_in_order(blank_db, fetch):
    applied = migrations.upgrade(blank_db)
    assert [m.version for m in applied] == [m.version for m in migrations.available_migrations()]
    ledger = fetch(blank_db, "select version, name from segflow.schema_migrations order by version")
    assert ledger[:2] == [(1, "transactions"), (2, "transactions_loaded_at_and_customer_index")]
    columns = {
        r[0]
        for r in fetch(
            blank_db,
            "select column_name from information_schema.columns "
            "where table_schema = 'segflow' and table_name = 'transactions'",
        )
    }
    assert {
        "invoice_id",
        "stock_code",
        "description",
        "quantity",
        "unit_price",
        "invoiced_at",
        "customer_id",
        "country",
        "batch_id",
        "line_number",
        "loaded_at",
    } <= columns


def test_upgrading_twice_is_a_no_op(blank_db, fetch):
    migrations.upgrade(blank_db)
    before = fetch(blank_db, "select version, applied_at from segflow.schema_migrations order by version")
    assert migrations.upgrade(blank_db) == []
    assert fetch(blank_db, "select version, applied_at from segflow.schema_migrations order by version") == before


def test_upgrade_keeps_data_loaded_before_it(blank_db, fetch):
    migrations.upgrade(blank_db, target=1)
    with blank_db.transaction() as cur:
        cur.execute(
            "insert into segflow.transactions (invoice_id, quantity, unit_price, invoiced_at, customer_id)"
            " values ('1', 2, 3.5, '2010-01-01T10:00:00Z', 'a'), ('2', 1, 1, '2010-01-02T10:00:00Z', null)"
        )
    applied = migrations.upgrade(blank_db)
    assert next(m.version for m in applied) == 2
    rows = fetch(
        blank_db,
        "select invoice_id, quantity, customer_id, loaded_at is not null from segflow.transactions order by invoice_id",
    )
    assert [(r[0], float(r[1]), r[2], r[3]) for r in rows] == [("1", 2.0, "a", True), ("2", 1.0, None, True)]
    index = fetch(blank_db, "select indexdef from pg_indexes where indexname = 'transactions_customer_time_idx'")
    assert "(customer_id, invoiced_at)" in index[0][0]


def test_contract_columns_of_rows_inserted_by_other_tools_get_defaults(db, fetch):
    with db.transaction() as cur:
        cur.execute(
            "insert into segflow.transactions (invoice_id, quantity, unit_price, invoiced_at) values ('9', 1, 1, now())"
        )
    assert fetch(db, "select batch_id, line_number, loaded_at is not null from segflow.transactions") == [
        (None, None, True)
    ]


def test_an_edited_migration_is_refused(blank_db, tmp_path, monkeypatch):
    migrations.upgrade(blank_db)
    copy = tmp_path / "sql"
    shutil.copytree(db_module.sql_dir(), copy)
    first = copy / "migrations" / "001_transactions.sql"
    first.write_text(first.read_text() + "\n-- edited\n")
    monkeypatch.setattr(migrations, "sql_dir", lambda: copy)
    with pytest.raises(MigrationError, match=r"001_transactions\.sql was edited after it was applied"):
        migrations.upgrade(blank_db)


def test_a_database_newer_than_the_code_is_refused(blank_db, tmp_path, monkeypatch):
    migrations.upgrade(blank_db)
    copy = tmp_path / "sql"
    shutil.copytree(db_module.sql_dir(), copy)
    (copy / "migrations" / "002_transactions_loaded_at_and_customer_index.sql").unlink()
    monkeypatch.setattr(migrations, "sql_dir", lambda: copy)
    with pytest.raises(MigrationError, match="has migration 002 applied"):
        migrations.upgrade(blank_db)


def test_views_are_recreated_only_when_their_file_changes(blank_db, fetch, tmp_path, monkeypatch):
    migrations.upgrade(blank_db)
    ledger = dict(fetch(blank_db, "select name, applied_at from segflow.schema_views"))
    # beside the files, the fingerprint of the BI descriptions (segflow/serving/bi_catalog.py) applied with them
    assert set(ledger) == set(migrations.VIEW_ORDER) | set(migrations.FUNCTION_ORDER) | {migrations.BI_DESCRIPTIONS}
    migrations.upgrade(blank_db)
    assert dict(fetch(blank_db, "select name, applied_at from segflow.schema_views")) == ledger  # untouched

    # A view change is a one-file diff: a copy of sql/ whose current_segments view gains a column.
    copy = tmp_path / "sql"
    shutil.copytree(db_module.sql_dir(), copy)
    view = copy / "views" / "current_segments.sql"
    extra_column = "        g.cluster_key,\n        g.action as next_step\n"
    view.write_text(view.read_text().replace("        g.cluster_key\n", extra_column))
    monkeypatch.setattr(migrations, "sql_dir", lambda: copy)
    migrations.upgrade(blank_db)

    columns = [
        r[0]
        for r in fetch(
            blank_db,
            "select column_name from information_schema.columns where "
            "table_schema = 'segflow' and table_name = 'current_segments' "
            "order by ordinal_position",
        )
    ]
    assert columns[-2:] == ["cluster_key", "next_step"]
    after = dict(fetch(blank_db, "select name, applied_at from segflow.schema_views"))
    # a re-created view may be new: its descriptions and grants are applied again
    assert sorted(name for name in after if after[name] != ledger[name]) == ["bi_catalog", "current_segments"]
