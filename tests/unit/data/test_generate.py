"""The synthetic data generator, without a database: determinism, behaviour and dirt."""

from datetime import date

import pandas as pd
import pytest

from segflow.data.generate import ARCHETYPES, GeneratorSpec, iter_chunks
from segflow.errors import SegflowError


def make_transactions(customers: int = 3_000, seed: int = 7, days: int = 365) -> pd.DataFrame:
    spec = GeneratorSpec(customers=customers, days=days, seed=seed, start=date(2024, 1, 1))
    return pd.concat(iter_chunks(spec), ignore_index=True)


@pytest.fixture(scope="module")
def lines() -> pd.DataFrame:
    return make_transactions()


def test_same_seed_gives_identical_lines(lines):
    pd.testing.assert_frame_equal(lines, make_transactions())


def test_other_seed_gives_other_lines(lines):
    other = make_transactions(seed=8)
    assert not lines["invoice_id"].isin(other["invoice_id"]).any()  # ids carry the seed
    assert len(other) != len(lines)


def test_every_customer_buys_and_lines_stay_in_the_period(lines):
    known = lines.dropna(subset=["customer_id"])
    assert known["customer_id"].nunique() == 3_000
    stamps = pd.to_datetime(lines["invoiced_at"])
    assert stamps.min() >= pd.Timestamp("2024-01-01", tz="UTC")
    assert stamps.max() < pd.Timestamp("2024-12-31", tz="UTC")


def test_customers_differ_in_how_often_they_buy(lines):
    purchases = lines[~lines["invoice_id"].str.startswith("C")].dropna(subset=["customer_id"])
    orders = purchases.groupby("customer_id")["invoice_id"].nunique()
    assert (orders == 1).mean() > 0.2  # one-time buyers
    assert orders.quantile(0.97) >= 10  # loyal customers order again and again


def test_november_outsells_february(lines):
    months = pd.to_datetime(lines["invoiced_at"]).dt.month
    assert (months == 11).sum() > 1.3 * (months == 2).sum()


def test_every_kind_of_dirty_line_is_present_in_a_small_share(lines):
    n = len(lines)
    cancellations = lines[lines["invoice_id"].str.startswith("C")]
    assert 0 < len(cancellations) < 0.05 * n
    assert (cancellations["quantity"] < 0).all()
    assert 0 < lines["customer_id"].isna().sum() < 0.08 * n
    assert 0 < (lines["unit_price"] == 0).sum() < 0.01 * n
    assert 0 < (lines["unit_price"] < 0).sum() < 0.01 * n
    assert 0 < lines.duplicated().sum() < 0.03 * n


def test_archetype_shares_add_up_to_one():
    assert sum(a.share for a in ARCHETYPES) == pytest.approx(1.0)


@pytest.mark.parametrize(("field", "value"), [("customers", 0), ("days", 3), ("seed", -1)])
def test_invalid_spec_names_the_option(field, value):
    params = {"customers": 10, "days": 30, "seed": 1, "start": date(2024, 1, 1), field: value}
    with pytest.raises(SegflowError, match=f"^{field} must"):
        GeneratorSpec(**params).validate()
