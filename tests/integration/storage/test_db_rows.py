"""The row helpers of segflow.storage.db against a real PostgreSQL: a row's shape comes from the query, and a DataFrame
COPYed in lands in the columns of its names, missing values as NULL."""

from decimal import Decimal

import numpy as np
import pandas as pd

from segflow.storage.db import copy_frame

MODEL_COLUMNS = ["version", "status", "created_at", "algorithm", "k", "features", "as_of", "sample_size", "silhouette"]


def test_a_query_without_rows_gives_no_records_and_a_frame_with_its_columns(db):
    assert db.records("queries/registry/list_models") == []
    frame = db.frame("queries/registry/list_models")
    assert frame.empty
    assert list(frame.columns) == MODEL_COLUMNS


def test_copy_frame_fills_columns_by_name_in_any_order_with_nan_and_none_as_null(db, fetch):
    lines = pd.DataFrame(
        {
            "customer_id": ["C1", np.nan],
            "quantity": [2, 3],
            "invoice_id": ["I1", "I2"],
            "unit_price": [1.5, 2.25],
            "invoiced_at": ["2026-01-02T10:00:00Z", "2026-01-03T11:00:00Z"],
            "description": ["Mug", None],
        }
    )
    with db.transaction() as cur:
        copy_frame(cur, "transactions", lines)
    rows = fetch(
        db, "select invoice_id, customer_id, description, quantity, unit_price from segflow.transactions order by 1"
    )
    assert rows == [
        ("I1", "C1", "Mug", Decimal("2"), Decimal("1.5")),
        ("I2", None, None, Decimal("3"), Decimal("2.25")),
    ]


def test_records_of_a_row_are_keyed_by_the_query_column_names(db):
    (summary,) = db.records("queries/aggregates/aggregate_summary")
    assert list(summary) == [
        "source_table",
        "needs_rebuild",
        "rebuild_reason",
        "watermark_day",
        "folded_at",
        "rebuilt_at",
        "pending_keys",
        "customers",
    ]
    assert summary["pending_keys"] == 0
