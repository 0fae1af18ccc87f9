"""Imports a user can correct: failed loads load nothing, a batch is content + reading, batches can be replaced
and removed, and what the nightly computes stays exact."""

from datetime import date
from decimal import Decimal

import pytest

from segflow.data.ingest.batches import list_batches, remove_batch
from segflow.data.ingest.layouts import parse_mapping
from segflow.data.ingest.load import import_transactions
from segflow.errors import BatchReadDifferently, ImportFailed, ImportRejected
from segflow.orchestration import runs
from segflow.stages import features as stage_features
from segflow.stages import prepare, run_nightly

MAP_AMOUNT = {"invoiced_at": "Date", "customer_id": "Client", "amount": "Total"}
MAP_WRONG = {"invoiced_at": "Date", "customer_id": "Client", "unit_price": "Total", "quantity": "Qty"}
MAP_RIGHT = {"invoiced_at": "Date", "customer_id": "Client", "amount": "Total", "quantity": "Qty"}
EXPORT_HEADER = ["Date", "Client", "Qty", "Total"]


def _count(fetch, db, query="select count(*) from segflow.transactions"):
    return fetch(db, query)[0][0]


def test_a_file_whose_dates_cannot_be_read_fails_loads_nothing_and_reloads_with_the_right_format(db, fetch, write_csv):
    path = write_csv([[f"{d}-Jan-15", f"c{d}", "10"] for d in range(10, 30)], header=["Date", "Client", "Total"])

    with pytest.raises(ImportFailed) as failure:
        import_transactions(db, path, mapping=MAP_AMOUNT)

    failed = failure.value.batch_id
    assert str(failure.value) == (
        "lines.csv: all 20 lines were rejected: unparseable_date 20 (first: line 2, "
        f"invoiced_at '10-Jan-15'); nothing was loaded; recorded as failed batch {failed}"
    )
    assert _count(fetch, db) == 0
    assert fetch(
        db,
        "select batch_id, status, lines_read, lines_loaded, lines_rejected, rejected_by_reason "
        "from segflow.import_batches",
    ) == [(failed, "failed", 20, 0, 20, {"unparseable_date": 20})]
    assert _count(fetch, db, f"select count(*) from segflow.import_rejects where batch_id = {failed}") == 20

    result = import_transactions(db, path, mapping=MAP_AMOUNT, date_format="%d-%b-%y")

    assert (result.already_imported, result.lines_loaded) == (False, 20)
    assert fetch(
        db, "select status, lines_loaded from segflow.import_batches where batch_id = %s", (result.batch_id,)
    ) == [("imported", 20)]
    assert fetch(db, "select min(invoiced_at)::date, max(invoiced_at)::date from segflow.transactions") == [
        (date(2015, 1, 10), date(2015, 1, 29))
    ]


def test_more_rejects_than_the_allowed_share_fail_and_within_it_load(db, fetch, write_csv):
    rows = [["2024-03-01", f"c{i}", "1", "2.5"] for i in range(17)] + [["2024-03-01", "x", "one", "2"]] * 3
    path = write_csv(rows, header=EXPORT_HEADER)  # 3 of 20 rejected: 15 %

    with pytest.raises(ImportFailed, match=r"3 of 20 lines were rejected \(15.0%, more than max_reject_share 10%\)"):
        import_transactions(db, path, mapping=MAP_RIGHT)
    assert _count(fetch, db) == 0

    result = import_transactions(db, path, mapping=MAP_RIGHT, max_reject_share=0.15)
    assert (result.lines_loaded, result.lines_rejected) == (17, 3)
    assert fetch(db, "select status from segflow.import_batches order by batch_id") == [("failed",), ("imported",)]


def test_the_same_content_read_another_way_is_refused_and_the_earlier_batch_stays(db, fetch, write_csv):
    path = write_csv([["2024-03-01", "c1", "2", "10"]], header=EXPORT_HEADER)
    import_transactions(db, path, mapping=MAP_WRONG)

    again = import_transactions(db, path, mapping=dict(reversed(MAP_WRONG.items())))  # same mapping
    assert again.already_imported and again.batch_id == 1

    with pytest.raises(BatchReadDifferently) as refused:
        import_transactions(db, path, mapping=MAP_RIGHT)
    assert refused.value.batch_id == 1
    assert str(refused.value).startswith("lines.csv: this content was imported as batch 1 read another way (mapping {")
    assert "replace that batch to load it this way" in str(refused.value)
    assert fetch(db, "select batch_id, status from segflow.import_batches") == [(1, "imported")]
    assert fetch(db, "select unit_price from segflow.transactions") == [(Decimal("10"),)]


def test_a_wrong_mapping_is_replaced_and_the_next_run_computes_rfm_from_the_corrected_reading(
    db, fetch, settings, write_csv
):
    # c1: two orders (3 x 4.00 = 12.00 and 1 x 8.00), c2: one (2 x 5.00); Total is the line total.
    rows = [
        ["2024-03-01 10:00", "c1", "3", "12.00"],
        ["2024-03-20 09:00", "c1", "1", "8.00"],
        ["2024-03-25 12:00", "c2", "2", "10.00"],
    ]
    path = write_csv(rows, header=EXPORT_HEADER, name="export.csv")
    import_transactions(db, path, mapping=MAP_WRONG)  # Total read as a unit price: monetary x quantity
    assert fetch(db, "select sum(quantity * unit_price) from segflow.transactions") == [(Decimal("64.00"),)]

    result = import_transactions(db, path, mapping=MAP_RIGHT, replace=True)

    assert result.replaced == [1] and result.batch_id == 2
    assert fetch(db, "select batch_id, status from segflow.import_batches order by 1") == [
        (1, "removed"),
        (2, "imported"),
    ]
    assert fetch(db, "select distinct batch_id from segflow.transactions") == [(2,)]
    assert _features(db, settings, fetch) == {"c1": (2, Decimal("20.00")), "c2": (1, Decimal("10.00"))}


def _features(db, settings, fetch) -> dict:
    """A run's features as of 2024-03-31 (two customers are too few to train on: the run stops there)."""
    attempt = prepare.begin(db, settings, date(2024, 3, 31))
    try:
        prepare.check_source(db, db.settings, attempt)
        stage_features.build(db, db.settings, attempt)
        rows = fetch(
            db,
            "select customer_id, frequency, monetary from segflow.customer_features where attempt_id = %s",
            (attempt,),
        )
    finally:
        prepare.fail(db, db.settings, attempt, "test: features only")
    return {r[0]: r[1:] for r in rows}


def test_a_replacement_that_fails_leaves_the_earlier_batch_in_place(db, fetch, write_csv):
    good = write_csv([["2024-03-01", "c1", "1", "5"]], header=EXPORT_HEADER, name="export.csv")
    import_transactions(db, good, mapping=MAP_RIGHT)
    bad = write_csv([["01.03.2024", "c1", "1", "5"]], header=EXPORT_HEADER, name="export.csv")

    with pytest.raises(ImportFailed):
        import_transactions(db, bad, mapping=MAP_RIGHT, replace=True)

    assert fetch(db, "select status from segflow.import_batches order by batch_id") == [("imported",), ("failed",)]
    assert _count(fetch, db) == 1


def test_a_removed_batch_is_no_longer_counted_and_the_next_run_says_what_changed(db, fetch, settings, write_csv):
    first = write_csv(
        [[f"2024-03-{1 + i % 28:02d}", f"a{i}", "1", str(5 + i)] for i in range(30)], header=EXPORT_HEADER, name="a.csv"
    )
    second = write_csv(
        [[f"2024-03-{2 + i % 27:02d}", f"b{i}", "1", str(7 + 3 * i)] for i in range(20)],
        header=EXPORT_HEADER,
        name="b.csv",
    )
    import_transactions(db, first, mapping=MAP_RIGHT)
    import_transactions(db, second, mapping=MAP_RIGHT)
    one = run_nightly(db, settings, date(2024, 3, 31))
    assert runs.run_summary(db, one)["batch_changes"] == [
        {"batch_id": 1, "name": "a.csv", "lines": 30, "change": "imported"},
        {"batch_id": 2, "name": "b.csv", "lines": 20, "change": "imported"},
    ]

    assert remove_batch(db, 2) == 20
    two = run_nightly(db, settings, date(2024, 3, 31))

    assert _count(fetch, db) == 30
    summary = runs.run_summary(db, two)
    assert summary["customers_known"] == 30
    assert summary["batch_changes"] == [{"batch_id": 2, "name": "b.csv", "lines": 20, "change": "removed"}]
    assert fetch(db, "select count(*) from segflow.current_segments where customer_id like 'b%%'") == [(0,)]
    with pytest.raises(ImportRejected, match=r"^batch 2 \(b.csv\) is removed, not imported: nothing to remove$"):
        remove_batch(db, 2)
    with pytest.raises(ImportRejected, match=r"^batch 9 does not exist$"):
        remove_batch(db, 9)


def test_without_invoice_ids_identical_lines_count_once_and_a_moment_is_one_order(db, fetch, settings, write_csv):
    rows = [
        ["2024-03-01 10:00", "c1", "1", "5.00"],
        ["2024-03-01 10:00", "c1", "1", "5.00"],  # duplicate
        ["2024-03-01 10:00", "c1", "2", "6.00"],  # same order, another line
        ["2024-03-05 10:00", "c1", "1", "4.00"],
    ] + [[f"2024-03-{2 + i:02d}", f"x{i}", "1", str(1 + i)] for i in range(20)]
    loaded = import_transactions(db, write_csv(rows, header=EXPORT_HEADER), mapping=MAP_RIGHT)
    # The file names no products: the load says how many lines repeat another, so a user can tell.
    assert (loaded.duplicate_lines, loaded.identifies_products) == (1, False)

    attempt = run_nightly(db, settings, date(2024, 3, 21))  # the day of the newest line: a fresh source

    assert fetch(db, "select excluded_duplicate from segflow.runs where attempt_id = %s", (attempt,)) == [(1,)]
    assert fetch(db, "select frequency, monetary from segflow.current_segments where customer_id = 'c1'") == [
        (2, Decimal("15.00"))
    ]


def test_batches_list_options_and_old_batches_without_options_count_as_the_same_reading(db, fetch, write_csv):
    path = write_csv([["2024-03-01", "c1", "2", "10"]], header=EXPORT_HEADER)
    import_transactions(db, path, mapping=MAP_RIGHT, date_format="%Y-%m-%d")
    listed = list_batches(db)
    assert [(b["batch_id"], b["status"], b["name"], b["lines_loaded"]) for b in listed] == [
        (1, "imported", "lines.csv", 1)
    ]
    assert listed[0]["options"] == {
        "mapping": dict(sorted(MAP_RIGHT.items())),
        "delimiter": ",",
        "encoding": "utf-8-sig",
        "date_format": "%Y-%m-%d",
    }
    with db.transaction() as cur:  # a batch imported before options were recorded
        cur.execute("update segflow.import_batches set options = null")
    assert import_transactions(db, path, mapping=MAP_AMOUNT | {"quantity": "Qty"}).already_imported


def test_a_mapping_with_both_a_unit_price_and_an_amount_is_refused():
    with pytest.raises(ImportRejected, match=r"^the mapping names both unit_price and amount; map one"):
        parse_mapping("invoiced_at=Date,customer_id=Client,unit_price=Total,amount=Total")


def test_with_a_product_column_identical_lines_are_still_counted_but_products_are_told_apart(db, write_csv):
    rows = [
        ["2024-03-01 10:00", "c1", "A", "1", "5"],
        ["2024-03-01 10:00", "c1", "B", "1", "5"],
        ["2024-03-01 10:00", "c1", "B", "1", "5"],
    ]
    mapping = MAP_RIGHT | {"stock_code": "Product"}
    loaded = import_transactions(
        db, write_csv(rows, header=["Date", "Client", "Product", "Qty", "Total"]), mapping=mapping
    )
    assert (loaded.duplicate_lines, loaded.identifies_products) == (1, True)
