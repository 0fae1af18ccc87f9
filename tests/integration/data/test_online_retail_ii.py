"""The real Online Retail II file from ../shared/data (skipped only where it is absent)."""

import pytest
from support.data import ONLINE_RETAIL_II

from segflow.data.ingest.load import import_transactions

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ONLINE_RETAIL_II.exists(), reason=f"{ONLINE_RETAIL_II} is absent"),
]


def test_full_file_loads_once_with_exact_counts(db, fetch):
    result = import_transactions(db, ONLINE_RETAIL_II)
    assert (result.layout, result.lines_read, result.lines_loaded, result.lines_rejected) == (
        "online_retail_ii",
        525_461,
        525_461,
        0,
    )
    counts = fetch(
        db,
        "select count(*), count(distinct customer_id), count(*) filter (where customer_id is null),"
        " min(invoiced_at)::date::text, max(invoiced_at)::date::text from segflow.transactions",
    )[0]
    assert counts == (525_461, 4_383, 107_927, "2009-12-01", "2010-12-09")

    again = import_transactions(db, ONLINE_RETAIL_II)
    assert again.already_imported and again.lines_loaded == 0
    assert fetch(db, "select count(*) from segflow.transactions")[0][0] == 525_461


def test_the_aggregates_of_the_real_file_equal_a_full_recompute_at_every_quarter(db, settings):
    from datetime import date

    from segflow.data.aggregates_check import check_against_lines

    import_transactions(db, ONLINE_RETAIL_II)  # folded in the import's transaction
    for as_of in (date(2010, 3, 1), date(2010, 6, 1), date(2010, 9, 1), date(2010, 12, 9)):
        check = check_against_lines(db, settings, as_of)
        assert (check.exact, check.differing_customers) == (True, 0), (as_of, check.example_customers)
    assert check.customers == 4_383
    assert check.counts_from_aggregates["lines_total"] == 525_461


def hand_rfm(customer: str, as_of: str = "2010-12-09", window_start: str = "2009-12-10") -> tuple:
    """R/F/M of one customer straight from the CSV with pandas, following the documented rules."""
    import pandas as pd

    lines = pd.read_csv(ONLINE_RETAIL_II, dtype={"Customer ID": str, "Invoice": str, "StockCode": str})
    lines = lines[lines["Customer ID"].str.replace(r"\.0$", "", regex=True) == customer].drop_duplicates()
    when = pd.to_datetime(lines["InvoiceDate"])
    bought = lines[(lines["Quantity"] > 0) & (lines["Price"] > 0) & ~lines["Invoice"].str.startswith("C")]
    in_window = bought[when[bought.index] >= window_start]
    recency = (pd.Timestamp(as_of) - when[in_window.index].max().normalize()).days
    return (
        recency,
        in_window["Invoice"].nunique(),
        round(float((in_window["Quantity"] * in_window["Price"]).sum()), 2),
        (pd.Timestamp(as_of) - when[bought.index].min().normalize()).days,
    )


def test_a_run_as_of_the_last_day_agrees_with_a_hand_check(db, settings, fetch):
    from datetime import date

    from segflow.stages import run_nightly

    import_transactions(db, ONLINE_RETAIL_II)
    attempt = run_nightly(db, settings, date(2010, 12, 9))
    assert fetch(db, "select count(*) from segflow.current_segments")[0][0] == 4_383
    for customer in ("12346", "12347", "18102"):
        row = fetch(
            db,
            "select recency_days, frequency, monetary::float, tenure_days from segflow.current_segments"
            " where customer_id = %s",
            (customer,),
        )[0]
        assert row == hand_rfm(customer), customer
    counts = fetch(
        db,
        "select excluded_unknown_customer, excluded_cancellation_or_return,"
        " excluded_non_positive_price, excluded_duplicate from segflow.runs where attempt_id = %s",
        (attempt,),
    )
    assert counts == [(107_927, 9_839, 31, 6_748)]
