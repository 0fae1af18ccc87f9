"""A run's kept sample and counts (segflow.monitoring.run_sample), on hand-written attempts (no night, no Evidently):
exactly the customers with the smallest seeded hashes, the same customers night after night while they are there,
exact counts, a pruned run still a drift reference, retention, and the summary's medians from the sample."""

import hashlib
import statistics
from datetime import date, timedelta

import pytest

from segflow.monitoring import drift_references, retention, run_sample
from segflow.storage import attempt_tables
from segflow.storage.db import run_named

SEED = 42
D1 = date(2025, 3, 1)


def _hash(customer: str, seed: int = SEED) -> int:
    """fill_run_sample.sql's hash, by hand: md5's first 15 hex digits (60 bits) of customer_id || seed."""
    return int(hashlib.md5(f"{customer}{seed}".encode()).hexdigest()[:15], 16)


def _bottom(customers: list[str], k: int) -> list[str]:
    return sorted(customers, key=lambda c: (_hash(c), c))[:k]


def _attempt(db, as_of: date, customers: dict[str, tuple[str, int | None]], status: str = "published") -> int:
    """A run attempt with these customers: id -> (segment key, frequency); recency = frequency * 2, monetary =
    frequency * 10 (None: an inactive customer, no features)."""
    with db.transaction() as cur:
        (attempt_id, _run_id), *_ = run_named(
            cur,
            "queries/attempts/insert_run",
            {
                "as_of": as_of,
                "retrain_mode": "never",
                "features": ["recency_days"],
                "lookback_days": 30,
                "source_table": None,
            },
        )
        cur.execute("update segflow.run_attempts set status = %s where attempt_id = %s", (status, attempt_id))
        attempt_tables.open_attached(cur, attempt_id)  # rows written one by one through the parents
        for customer, (key, frequency) in customers.items():
            cur.execute(
                "insert into segflow.segment_assignments (attempt_id, customer_id, segment_key, segment_name, action)"
                " values (%s, %s, %s, %s, 'act')",
                (attempt_id, customer, key, key.upper()),
            )
            cur.execute(
                "insert into segflow.customer_features (attempt_id, customer_id, recency_days, frequency, monetary)"
                " values (%s, %s, %s, %s, %s)",
                (
                    attempt_id,
                    customer,
                    None if frequency is None else frequency * 2,
                    frequency,
                    None if frequency is None else frequency * 10,
                ),
            )
    return attempt_id


def _sampled(fetch, db, attempt_id: int) -> list[str]:
    rows = fetch(
        db, "select customer_id from segflow.run_samples where attempt_id = %s order by sample_hash", (attempt_id,)
    )
    return [c for (c,) in rows]


def test_the_sample_is_exactly_the_customers_with_the_smallest_seeded_hashes_and_counts_are_exact(db, fetch):
    customers = {f"c{i:02d}": ("s1" if i < 30 else "inactive", i + 1 if i < 30 else None) for i in range(50)}
    attempt = _attempt(db, D1, customers)

    assert run_sample.fill(db, attempt, rows=10, seed=SEED) == 10
    assert _sampled(fetch, db, attempt) == _bottom(list(customers), 10)
    rows = fetch(
        db,
        "select customer_id, sample_hash, segment_key, segment_name, frequency, monetary from segflow.run_samples"
        " where attempt_id = %s",
        (attempt,),
    )
    for customer, sample_hash, key, name, frequency, monetary in rows:
        assert sample_hash == _hash(customer)
        assert (key, frequency) == customers[customer]
        assert name == key.upper() and monetary == (None if frequency is None else frequency * 10)
    counts = fetch(
        db, "select segment_key, customers from segflow.run_segment_counts where attempt_id = %s", (attempt,)
    )
    assert sorted(counts) == [("inactive", 20), ("s1", 30)]  # every customer, not the sample's 10

    # Refilled (a run scored again): replaced, not added to; a sample larger than the run holds every customer.
    assert run_sample.fill(db, attempt, rows=100, seed=SEED) == 50
    assert sorted(_sampled(fetch, db, attempt)) == sorted(customers)
    # Another seed, other customers (about 10 of 50 in common by chance; here computed exactly).
    run_sample.fill(db, attempt, rows=10, seed=7)
    assert set(_sampled(fetch, db, attempt)) == set(sorted(customers, key=lambda c: (_hash(c, 7), c))[:10])


def test_a_customer_still_there_is_in_the_next_nights_sample_unless_a_smaller_hash_arrives(db, fetch):
    first = {f"c{i:02d}": ("s1", 1) for i in range(50)}
    kept = _bottom(list(first), 10)
    cut = _hash(kept[-1])
    # Night 2: ten customers not in the sample left, and new customers all hash above the cut arrived.
    left = [c for c in first if c not in kept][:10]
    above = [c for c in (f"n{i:03d}" for i in range(200)) if _hash(c) > cut][:15]
    second = {c: v for c, v in first.items() if c not in left} | dict.fromkeys(above, ("s1", 1))
    # Night 3: one new customer with a hash below the cut: it enters, the sample's largest hash leaves.
    below = next(c for c in (f"m{i:03d}" for i in range(1000)) if _hash(c) < cut)
    third = second | {below: ("s1", 1)}
    attempts = [_attempt(db, D1 + timedelta(days=n), night) for n, night in enumerate((first, second, third))]
    for attempt in attempts:
        run_sample.fill(db, attempt, rows=10, seed=SEED)

    one, two, three = (_sampled(fetch, db, a) for a in attempts)
    assert one == kept and two == kept
    assert set(three) == set(kept[:-1]) | {below}


def test_a_run_whose_rows_are_pruned_is_still_a_previous_reference_with_exact_shares(db, settings, fetch):
    customers = {f"c{i:03d}": ("s1" if i % 4 else "s2", i % 7 + 1) for i in range(120)}
    customers |= {f"i{i:02d}": ("inactive", None) for i in range(30)}
    attempt = _attempt(db, D1, customers)
    settings = settings.model_copy(update={"drift_sample": 100, "seed": SEED})
    run_sample.fill_for_run(db, settings, attempt)
    before = drift_references.previous_reference(db, settings, attempt)

    fetch(db, "delete from segflow.segment_assignments where attempt_id = %s returning attempt_id", (attempt,))
    fetch(db, "delete from segflow.customer_features where attempt_id = %s returning attempt_id", (attempt,))
    after = drift_references.previous_reference(db, settings, attempt)

    assert after.shares == pytest.approx({"s1": 90 / 150, "s2": 30 / 150, "inactive": 30 / 150})  # exact, all 150
    assert after.customers == 150 == before.customers and after.shares == before.shares
    assert list(after.sample["customer_id"]) == _bottom(list(customers), 100)
    assert after.sample.equals(before.sample)
    assert after.sample["tenure_days"].isna().all()  # no tenure written: none read
    assert after.sample.loc[after.sample["segment_key"] == "inactive", "frequency"].isna().all()


def test_a_run_scored_before_samples_were_kept_gets_its_sample_when_drift_first_reads_it(db, settings, fetch):
    attempt = _attempt(db, D1, {f"c{i:03d}": ("s1", 1) for i in range(150)})
    settings = settings.model_copy(update={"drift_sample": 100, "seed": SEED})
    assert run_sample.ensure_all(db, settings) == 1

    assert len(_sampled(fetch, db, attempt)) == 100
    assert run_sample.ensure_all(db, settings) == 0
    fetch(db, "delete from segflow.segment_assignments where attempt_id = %s returning attempt_id", (attempt,))
    fetch(db, "delete from segflow.run_segment_counts where attempt_id = %s returning attempt_id", (attempt,))
    assert run_sample.ensure(db, settings, attempt) is False  # nothing left to fill it from


def test_samples_are_kept_for_the_newest_published_runs_running_attempts_and_training_runs_only(db, settings, fetch):
    one = {"c1": ("s1", 1), "c2": ("s1", 2)}
    published = [_attempt(db, D1 + timedelta(days=n), one) for n in range(4)]
    replaced = _attempt(db, D1 + timedelta(days=3), one, status="replaced")
    running = _attempt(db, D1 + timedelta(days=9), one, status="running")
    trained_in = _attempt(db, D1 - timedelta(days=1), one, status="replaced")  # a model's training reference
    fetch(
        db,
        "insert into segflow.model_versions (version, algorithm, params, k, features, log_features, as_of,"
        " train_window_end, sample_size, seed, rfm_cut_points, metrics, candidates, selection_rule, gates,"
        " library_versions, artifact_path, artifact_sha256, trained_in_attempt) values (1, 'kmeans', '{}', 2,"
        " array['recency_days'], array[]::text[], %s, %s, 2, 0, '{}', '{}', '[]', 'r', '{}', '{}', 'p', 's', %s)"
        " returning version",
        (D1, D1, trained_in),
    )
    for attempt in (*published, replaced, running, trained_in):
        run_sample.fill(db, attempt, rows=10, seed=SEED)

    assert retention.prune_samples(db, settings.model_copy(update={"report_retention_runs": 2})) == sorted(
        [published[0], published[1], replaced]
    )
    left = {a for (a,) in fetch(db, "select distinct attempt_id from segflow.run_samples")}
    counted = {a for (a,) in fetch(db, "select distinct attempt_id from segflow.run_segment_counts")}
    assert left == counted == {published[2], published[3], running, trained_in}
    assert retention.prune_samples(db, settings.model_copy(update={"report_retention_runs": 0})) == []


def test_the_summary_takes_medians_from_the_sample_and_exact_ones_for_segments_small_in_it(db, fetch):
    # s1: 1,200 customers, frequency 1..1200; s2: 9 customers, frequency 1..9. A 600-customer sample holds about
    # 595 of s1 (its median is the sample's) and about 4 of s2 (fewer than 500 sampled: its median is exact).
    customers = {f"a{i:04d}": ("s1", i + 1) for i in range(1200)} | {f"b{i}": ("s2", i + 1) for i in range(9)}
    attempt = _attempt(db, D1, customers, status="running")
    run_sample.fill(db, attempt, rows=600, seed=SEED)
    with db.transaction() as cur:
        run_named(cur, "queries/publish/4_segment_summary", {"attempt_id": attempt})

    sampled = _bottom(list(customers), 600)
    s1_sample = [customers[c][1] for c in sampled if customers[c][0] == "s1"]
    assert len(s1_sample) >= 500
    rows = fetch(
        db,
        "select segment_key, customers, mean_frequency, median_frequency, median_monetary, total_monetary"
        " from segflow.segment_summaries where attempt_id = %s order by segment_key",
        (attempt,),
    )
    assert rows[0][:3] == ("s1", 1200, pytest.approx(600.5))  # counts and means over everyone
    assert rows[0][3] == pytest.approx(statistics.median(s1_sample))
    assert rows[0][4] == pytest.approx(statistics.median(s1_sample) * 10)
    assert rows[0][3] != pytest.approx(600.5)  # the sample's median, not the whole segment's
    assert rows[1][:4] == ("s2", 9, pytest.approx(5.0), pytest.approx(5.0))  # exact: all 9
    assert float(rows[0][5]) == sum(f * 10 for f in range(1, 1201))
