"""The per-customer aggregates: exact after every way lines arrive, change or go, against a full recompute.

Each test changes lines one way, then checks every customer's features and the data-quality counts from the
aggregates against the same figures recomputed from every line (`check_against_lines`), at dates before,
inside and after the change.
"""

from datetime import date

import pytest
from support.data import TRANSACTION_COLUMNS, insert_lines, make_rfm_lines

from segflow.data import aggregates
from segflow.data.aggregates_check import Check, check_against_lines
from segflow.data.generate import GeneratorSpec, generate_transactions
from segflow.data.ingest.batches import remove_batch
from segflow.data.ingest.load import import_transactions

AS_OF = date(2024, 3, 31)
DATES = (date(2024, 2, 15), AS_OF, date(2024, 4, 30))


def exact_everywhere(db, settings, dates=DATES) -> list[Check]:
    checks = [check_against_lines(db, settings, day) for day in dates]
    assert [c.exact for c in checks] == [True] * len(dates), [
        (c.as_of, c.differing_customers, c.example_customers, c.counts_from_aggregates, c.counts_from_lines)
        for c in checks
        if not c.exact
    ]
    return checks


def totals_of(fetch, db, invoice_id):
    return fetch(
        db,
        "select customer_id, day, lines, return_lines, non_positive_price_lines, purchase_lines,"
        " purchase_amount::float, returned_amount::float from segflow.invoice_day_totals where invoice_id = %s"
        " order by day",
        (invoice_id,),
    )


@pytest.fixture
def folded(db, settings):
    """The hand-built lines of test_features.py, inserted by plain SQL and folded (a first fold rebuilds)."""
    insert_lines(db, make_rfm_lines())
    assert aggregates.bring_current(db, settings).action == "rebuilt"
    return settings.model_copy(update={"lookback_days": 30})


def test_a_key_row_counts_every_rule_once(db, folded, fetch):
    # A1: three lines on 2024-03-10, one an exact duplicate: 3 lines, 2 distinct purchases worth 2*5 + 1*3.
    assert totals_of(fetch, db, "A1") == [("A", date(2024, 3, 10), 3, 0, 0, 2, 13.0, 0.0)]
    # CA3: a cancellation gives back 5.00; A4: a zero price; N3 (01:00+02:00) lands on the UTC day 03-31.
    assert totals_of(fetch, db, "CA3") == [("A", date(2024, 3, 26), 1, 1, 0, 0, 0.0, 5.0)]
    assert totals_of(fetch, db, "A4") == [("A", date(2024, 3, 27), 1, 0, 1, 0, 0.0, 0.0)]
    assert totals_of(fetch, db, "N3") == [("C", date(2024, 3, 31), 1, 0, 0, 1, 2.0, 0.0)]
    assert fetch(db, "select customer_id, first_line_day from segflow.customer_firsts order by 1") == [
        ("A", date(2024, 1, 15)),
        ("B", date(2024, 2, 1)),
        ("C", date(2024, 3, 31)),
        ("D", date(2024, 3, 20)),
    ]


def test_the_hand_built_lines_are_exact_at_every_date(db, folded):
    checks = exact_everywhere(db, folded)
    assert checks[1].customers == 4
    assert checks[1].counts_from_aggregates["excluded_duplicate"] == 1


def test_lines_inserted_by_plain_sql_wait_as_keys_and_a_fold_takes_them(db, folded, fetch):
    late = [
        ("L1", "S1", "D", 2, 4.00, "2024-03-05T08:00:00Z", "B", "UK"),  # late: B becomes active in the window
        ("A1", "S2", "D", 1, 3.00, "2024-03-10T10:00:00Z", "A", "UK"),  # a third copy of a duplicate
        ("CB9", "S1", "D", -1, 4.00, "2024-03-06T08:00:00Z", "B", "UK"),  # cancels part of the late order
        ("E1", "S1", "D", 1, 9.00, "2024-03-30T08:00:00Z", "E", "UK"),  # a new customer
    ]
    insert_lines(db, late)
    assert fetch(db, "select count(*) from segflow.changed_line_keys") == [(4,)]
    # Before the fold the aggregates are behind, and the check says so (it can fail).
    stale = check_against_lines(db, folded, AS_OF)
    assert not stale.exact
    assert stale.differing_customers == 2  # B's window purchases, and E who is not known yet
    assert stale.counts_from_lines["lines_total"] - stale.counts_from_aggregates["lines_total"] == 4

    fold = aggregates.bring_current(db, folded)
    assert (fold.action, fold.keys) == ("folded", 4)
    assert fetch(db, "select count(*) from segflow.changed_line_keys") == [(0,)]
    exact_everywhere(db, folded)
    # The extra copy of A1's duplicate is a line, not a purchase.
    assert totals_of(fetch, db, "A1") == [("A", date(2024, 3, 10), 4, 0, 0, 2, 13.0, 0.0)]
    assert aggregates.bring_current(db, folded).action == "current"


def test_updates_and_deletes_by_plain_sql_are_folded(db, folded, fetch):
    with db.transaction() as cur:
        # Move A2 out of the window's last week and into another day; delete C's return; reprice B1.
        cur.execute("update segflow.transactions set invoiced_at = '2024-03-01T09:00:00Z' where invoice_id = 'A2'")
        cur.execute("delete from segflow.transactions where invoice_id = 'N2'")
        cur.execute("update segflow.transactions set unit_price = 12 where invoice_id = 'B1'")
    assert aggregates.bring_current(db, folded).keys == 4  # A2's old and new day, N2, B1
    assert totals_of(fetch, db, "N2") == []
    assert [row[1] for row in totals_of(fetch, db, "A2")] == [date(2024, 3, 1)]
    exact_everywhere(db, folded)


def test_an_invoice_spanning_two_days_counts_once_in_frequency(db, folded, fetch):
    insert_lines(
        db,
        [
            ("SPAN", "S1", "D", 1, 10.00, "2024-03-29T23:30:00Z", "E", "UK"),
            ("SPAN", "S2", "D", 1, 20.00, "2024-03-30T00:30:00Z", "E", "UK"),
        ],
    )
    aggregates.bring_current(db, folded)
    assert len(totals_of(fetch, db, "SPAN")) == 2
    exact_everywhere(db, folded, dates=(date(2024, 3, 29), AS_OF))
    assert fetch(db, "select count(*) from segflow.invoice_day_totals where customer_id = 'E'") == [(2,)]


def test_a_rolled_back_insert_leaves_no_keys(db, folded, fetch):
    with pytest.raises(RuntimeError), db.transaction() as cur:
        cur.execute(
            "insert into segflow.transactions (invoice_id, quantity, unit_price, invoiced_at, customer_id)"
            " values ('X1', 1, 1, '2024-03-30T00:00:00Z', 'Z')"
        )
        raise RuntimeError("the writer fails")
    assert fetch(db, "select count(*) from segflow.changed_line_keys") == [(0,)]


def test_a_truncate_asks_for_a_rebuild(db, folded, fetch):
    with db.transaction() as cur:
        cur.execute("truncate segflow.transactions")
    state = aggregates.summary(db)
    assert (state["needs_rebuild"], state["rebuild_reason"]) == (True, "segflow.transactions was truncated")
    insert_lines(db, make_rfm_lines()[:3])
    fold = aggregates.bring_current(db, folded)
    assert (fold.action, fold.reason) == ("rebuilt", "segflow.transactions was truncated")
    assert fetch(db, "select customer_id from segflow.customer_firsts") == [("A",)]
    exact_everywhere(db, folded)


def test_imports_fold_in_their_own_transaction_and_replace_and_remove_stay_exact(db, folded, write_csv, fetch):
    rows = [
        ["R1", "S1", "D", "2", "2024-03-20 10:00:00", "3.00", "A", "UK"],  # A buys again in the window
        ["R1", "S1", "D", "2", "2024-03-20 10:00:00", "3.00", "A", "UK"],  # a duplicate in the file
        ["CR2", "S9", "D", "-1", "2024-03-21 10:00:00", "7.00", "A", "UK"],  # cancels January's A0
        ["R3", "S1", "D", "1", "2024-02-10 10:00:00", "5.00", "F", "UK"],  # late, before the window
    ]
    path = write_csv(rows, name="march.csv")
    batch = import_transactions(db, path).batch_id
    # Nothing is left for a night to fold: the import folded its own lines.
    assert fetch(db, "select count(*) from segflow.changed_line_keys") == [(0,)]
    exact_everywhere(db, folded)
    assert import_transactions(db, path).already_imported
    exact_everywhere(db, folded)

    corrected = write_csv(
        [*rows[:2], ["R3", "S1", "D", "1", "2024-02-10 10:00:00", "6.00", "F", "UK"]], name="march.csv"
    )
    replaced = import_transactions(db, corrected, replace=True)
    assert replaced.replaced == [batch]
    assert totals_of(fetch, db, "CR2") == []
    exact_everywhere(db, folded)

    remove_batch(db, replaced.batch_id)
    assert fetch(db, "select count(*) from segflow.customer_firsts where customer_id = 'F'") == [(0,)]
    exact_everywhere(db, folded)


def test_generated_batches_overlapping_and_removed_stay_exact(db, settings):
    first = generate_transactions(db, GeneratorSpec(customers=400, days=60, seed=3, start=date(2024, 2, 1)))
    second = generate_transactions(db, GeneratorSpec(customers=300, days=30, seed=4, start=date(2024, 3, 15)))
    dates = (date(2024, 3, 1), date(2024, 3, 31), date(2024, 4, 20))
    checks = exact_everywhere(db, settings, dates)
    assert checks[-1].customers == 700
    remove_batch(db, second.batch_id)
    checks = exact_everywhere(db, settings, dates)
    assert checks[-1].customers == 400
    assert first.lines == checks[-1].counts_from_lines["lines_total"]


SHOP = """
create schema shop;
create table shop.lines (like segflow.transactions including defaults);
create view shop.segflow_lines as select * from shop.lines;
"""


@pytest.fixture
def shop(db, settings):
    """A source of the user's own (no triggers): a table behind a view, with the hand-built lines."""
    with db.transaction() as cur:
        cur.execute(SHOP)
        columns = ", ".join(TRANSACTION_COLUMNS)
        cur.executemany(f"insert into shop.lines ({columns}) values (%s, %s, %s, %s, %s, %s, %s, %s)", make_rfm_lines())
    return settings.model_copy(update={"source_table": "shop.segflow_lines", "source_rescan_days": 3})


def test_another_source_is_rebuilt_then_rescanned_from_its_watermark(db, shop, fetch):
    first = aggregates.bring_current(db, shop)
    assert (first.action, first.reason) == ("rebuilt", "aggregates have never been built")
    assert aggregates.summary(db)["watermark_day"] == date(2024, 4, 1)
    with db.transaction() as cur:
        # A late row inside the re-scan window (3 days before the watermark), and one older than it.
        cur.execute(
            "insert into shop.lines (invoice_id, quantity, unit_price, invoiced_at, customer_id)"
            " values ('W1', 1, 8, '2024-03-30T10:00:00Z', 'B'), ('OLD', 1, 9, '2024-03-01T10:00:00Z', 'B')"
        )
    fold = aggregates.bring_current(db, shop)
    assert (fold.action, fold.from_day) == ("rescanned", date(2024, 3, 29))
    assert totals_of(fetch, db, "W1") != []
    assert totals_of(fetch, db, "OLD") == []  # older than the re-scan window: waits for a rebuild
    stale = check_against_lines(db, shop, AS_OF)
    assert (stale.exact, stale.differing_customers) == (False, 1)
    assert aggregates.bring_current(db, shop, rebuild=True).action == "rebuilt"
    exact_everywhere(db, shop)


def test_changing_the_source_rebuilds(db, folded, shop):
    fold = aggregates.bring_current(db, shop)
    assert (fold.action, fold.reason) == (
        "rebuilt",
        "the source changed from segflow.transactions to shop.segflow_lines",
    )
    fold = aggregates.bring_current(db, folded)
    assert fold.reason == "the source changed from shop.segflow_lines to segflow.transactions"


def test_imports_leave_the_keys_of_another_sources_aggregates_to_the_night(db, shop, fetch):
    aggregates.bring_current(db, shop)
    insert_lines(db, make_rfm_lines()[:2])  # into segflow.transactions, which the aggregates do not follow
    fold = aggregates.bring_current(db, shop)
    assert fold.action == "rescanned"
    assert fetch(db, "select count(*) from segflow.changed_line_keys") == [(0,)]


def test_a_line_without_a_time_in_another_source_is_left_out_everywhere(db, shop):
    with db.transaction() as cur:
        cur.execute("alter table shop.lines alter column invoiced_at drop not null")
        cur.execute(
            "insert into shop.lines (invoice_id, quantity, unit_price, invoiced_at, customer_id)"
            " values ('NOTIME', 1, 5, null, 'A')"
        )
    aggregates.bring_current(db, shop)
    checks = exact_everywhere(db, shop)
    assert checks[1].counts_from_lines["lines_total"] == len(make_rfm_lines())
