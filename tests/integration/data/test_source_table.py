"""SEGFLOW_SOURCE_TABLE: the nightly run reads the user's own table through a mapping view."""

from datetime import date

import pytest
from support.data import make_rfm_lines

from segflow.data.features import FeatureSet, compute_features
from segflow.errors import SegflowError
from segflow.stages import features as stage_features
from segflow.stages import prepare

AS_OF = date(2024, 3, 31)

# A shop's own table: other column names, and customer ids as integers (A..D become 1..4).
SHOP_TABLE = """
create schema shop;
create table shop.order_lines (
    order_no text, sku text, label text, qty integer, price numeric, ordered_at timestamptz, client integer,
    ship_country text
);
create view shop.segflow_lines as
select client as customer_id, order_no as invoice_id, ordered_at as invoiced_at, sku as stock_code,
       qty as quantity, price as unit_price, label as description, ship_country as country
from shop.order_lines;
"""
CLIENT_NUMBER = {"A": 1, "B": 2, "C": 3, "D": 4, None: None}


@pytest.fixture
def shop(db, settings):
    with db.transaction() as cur:
        cur.execute(SHOP_TABLE)
        cur.executemany(
            "insert into shop.order_lines values (%s, %s, %s, %s, %s, %s, %s, %s)",
            [(*line[:6], CLIENT_NUMBER[line[6]], line[7]) for line in make_rfm_lines()],
        )
    return settings.model_copy(update={"source_table": "shop.segflow_lines", "lookback_days": 30})


def test_features_from_a_mapped_view_equal_the_hand_computed_values(db, shop, fetch):
    db.settings = shop
    attempt = prepare.begin(db, shop, AS_OF)
    stage_features.fold(db, shop, attempt)
    counts = prepare.check_source(db, db.settings, attempt)
    assert counts["lines_total"] == 14 and counts["purchase_lines"] == 7 and counts["excluded_duplicate"] == 1
    compute_features(db, attempt, AS_OF, 30, FeatureSet(("recency_days", "frequency", "monetary")))
    rows = fetch(
        db,
        "select customer_id, recency_days, frequency, monetary::float, tenure_days "
        "from segflow.customer_features where attempt_id = %s order by customer_id",
        (attempt,),
    )
    # The same values as tests/integration/data/test_features.py gives for segflow.transactions.
    assert rows == [
        ("1", 6, 2, 23.0, 76),
        ("2", None, None, None, 59),
        ("3", 0, 2, 6.5, 0),
        ("4", None, None, None, None),
    ]
    assert fetch(db, "select source_table from segflow.runs where attempt_id = %s", (attempt,)) == [
        ("shop.segflow_lines",)
    ]
    assert fetch(db, "select count(*) from segflow.transactions") == [(0,)]


def test_a_missing_source_table_is_named(db, settings):
    db.settings = settings.model_copy(update={"source_table": "shop.nothing_here"})
    attempt = prepare.begin(db, db.settings, AS_OF)
    with pytest.raises(SegflowError, match=r"^source table shop.nothing_here \(SEGFLOW_SOURCE_TABLE\) does not exist"):
        prepare.check_source(db, db.settings, attempt)


def test_a_source_without_segflows_columns_names_the_missing_ones(db, shop):
    db.settings = shop.model_copy(update={"source_table": "shop.order_lines"})
    attempt = prepare.begin(db, db.settings, AS_OF)
    with pytest.raises(
        SegflowError,
        match=r"source table shop\.order_lines lacks column\(s\) customer_id, "
        r"invoice_id, invoiced_at, stock_code, quantity, unit_price, "
        r"description, country",
    ):
        prepare.check_source(db, db.settings, attempt)


@pytest.mark.parametrize("name", ["shop.lines; drop table x", "a.b.c", "1abc", ""])
def test_a_source_name_that_is_not_a_relation_name_is_refused(settings, name):
    from pydantic import ValidationError

    from segflow.settings import Settings

    with pytest.raises(ValidationError, match=r"must be a table or view name like schema\.name"):
        Settings(_env_file=None, source_table=name)


def test_integer_invoice_numbers_work_too(db, settings, fetch):
    with db.transaction() as cur:
        cur.execute(
            "create table public.pos_lines (customer_id integer, invoice_id integer, invoiced_at timestamptz, "
            "stock_code text, quantity integer, unit_price numeric, description text, country text)"
        )
        cur.execute(
            "insert into public.pos_lines values (7, 1001, '2024-03-30T10:00:00Z', 'S', 2, 5, null, null), "
            "(7, 1002, '2024-03-31T10:00:00Z', 'S', 1, 3, null, null), "
            "(8, 1003, '2024-03-01T10:00:00Z', 'S', -1, 4, null, null)"
        )
    db.settings = settings.model_copy(update={"source_table": "public.pos_lines", "lookback_days": 30})
    attempt = prepare.begin(db, db.settings, AS_OF)
    stage_features.fold(db, db.settings, attempt)
    counts = prepare.check_source(db, db.settings, attempt)
    assert (counts["purchase_lines"], counts["excluded_cancellation_or_return"]) == (2, 1)
    compute_features(db, attempt, AS_OF, 30, FeatureSet(("recency_days", "frequency", "monetary")))
    assert fetch(
        db,
        "select customer_id, recency_days, frequency, monetary::float from segflow.customer_features "
        "where attempt_id = %s order by customer_id",
        (attempt,),
    ) == [("7", 0, 2, 13.0), ("8", None, None, None)]
