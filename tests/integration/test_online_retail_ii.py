"""The real Online Retail II file from ../shared/data (skipped only where it is absent)."""

import pytest
from conftest import ONLINE_RETAIL_II

from segflow.ingest import import_transactions

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ONLINE_RETAIL_II.exists(), reason=f"{ONLINE_RETAIL_II} is absent"),
]


def test_full_file_loads_once_with_exact_counts(db, fetch):
    result = import_transactions(db, ONLINE_RETAIL_II)
    assert (result.layout, result.lines_read, result.lines_loaded, result.lines_rejected) == (
        "online_retail_ii", 525_461, 525_461, 0)
    counts = fetch(db, "select count(*), count(distinct customer_id), count(*) filter (where customer_id is null),"
                       " min(invoiced_at)::date::text, max(invoiced_at)::date::text from segflow.transactions")[0]
    assert counts == (525_461, 4_383, 107_927, "2009-12-01", "2010-12-09")

    again = import_transactions(db, ONLINE_RETAIL_II)
    assert again.already_imported and again.lines_loaded == 0
    assert fetch(db, "select count(*) from segflow.transactions")[0][0] == 525_461
