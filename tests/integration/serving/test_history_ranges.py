"""Segment history as ranges (issue 25): migration 015 folds the published runs' assignments into
segflow.segment_ranges, and the history read from the ranges is today's segment_history, row for row, through a
backfilled date, a rerun and a withdrawn run."""

import random
from datetime import date, timedelta

import pytest

from segflow.orchestration import withdrawal
from segflow.stages import publish
from segflow.storage import attempt_tables, migrations

D1, D2, D3, D4, D5 = (date(2026, 1, day) for day in (1, 8, 15, 22, 29))

# Per date: customer -> (segment key, model version). Published in the order below: D3 is a backfill between D2
# and D4, D2 is rerun (its first attempt replaced), D4 is withdrawn afterwards.
NIGHTS = [
    (D1, {"c1": ("S1", 1), "c2": ("S1", 1), "c3": ("S1", 1), "c4": ("S3", 1), "c6": ("S1", 1), "c7": ("S2", 1)}),
    (D2, {"c1": ("S9", 1)}),  # replaced by the rerun below: shows nowhere
    (D4, {"c1": ("S1", 2), "c2": ("S1", 2), "c3": ("S1", 2), "c4": ("S3", 2), "c5": ("S1", 2), "c6": ("S1", 2)}),
    (D5, {"c1": ("S1", 2), "c2": ("S2", 2), "c3": ("S1", 2), "c4": ("S3", 2), "c5": ("S1", 2), "c6": ("S1", 2)}),
    (D2, {"c1": ("S1", 1), "c2": ("S2", 1), "c3": ("S2", 1), "c6": ("S1", 2), "c7": ("S2", 1)}),
    (D3, {"c1": ("S1", 1), "c2": ("S2", 1), "c3": ("S1", 1), "c4": ("S3", 1), "c6": ("S1", 2), "c7": ("S2", 1)}),
]
NAMES = {"S1": "Champions", "S2": "Loyal", "S3": "Hibernating", "S9": "Wrong"}

HISTORY_COLUMNS = (
    "run_id, as_of, customer_id, segment_key, segment_name, action, model_version, cluster_key, recency_days, "
    "frequency, monetary, avg_order_value, tenure_days, return_rate, r_score, f_score, m_score, distance, "
    "confidence, is_current, published_at"
)


# The three BI views as they read before issue 25: straight from the published attempts' per-customer rows. The
# views now read segflow.segment_ranges; these are the oracle they must equal while every run's rows are kept.
FROM_ATTEMPT_ROWS = {
    "segment_history": """
with published as (
    select run_id, as_of, attempt_id, published_at
    from segflow.run_attempts
    where status = 'published'
),

pointer as (
    select attempt_id from segflow.current_run
),

final as (
    select
        p.run_id,
        p.as_of,
        a.customer_id,
        a.segment_key,
        a.segment_name,
        a.action,
        a.model_version,
        a.cluster_key,
        f.recency_days,
        f.frequency,
        f.monetary,
        f.avg_order_value,
        f.tenure_days,
        f.return_rate,
        a.r_score,
        a.f_score,
        a.m_score,
        a.distance,
        a.confidence,
        p.attempt_id in (select attempt_id from pointer) as is_current,
        p.published_at
    from published as p
    inner join segflow.segment_assignments as a on a.attempt_id = p.attempt_id
    left join segflow.customer_features as f on f.attempt_id = a.attempt_id and f.customer_id = a.customer_id
)

select * from final
""",
    "current_segments": """
with pointer as (
    select attempt_id from segflow.current_run
),

current_run as (
    select r.run_id, r.as_of, r.attempt_id, r.published_at
    from segflow.run_attempts as r
    inner join pointer as p on p.attempt_id = r.attempt_id
),

final as (
    select
        r.run_id,
        r.as_of,
        a.customer_id,
        a.segment_key,
        a.segment_name,
        a.action,
        a.model_version,
        a.cluster_key,
        f.recency_days,
        f.frequency,
        f.monetary,
        f.avg_order_value,
        f.tenure_days,
        f.return_rate,
        a.r_score,
        a.f_score,
        a.m_score,
        a.distance,
        a.confidence,
        true as is_current,
        r.published_at
    from current_run as r
    inner join segflow.segment_assignments as a on a.attempt_id = r.attempt_id
    left join segflow.customer_features as f on f.attempt_id = a.attempt_id and f.customer_id = a.customer_id
)

select * from final
""",
    "segment_transitions": """
with published as (
    select run_id, as_of, attempt_id
    from segflow.run_attempts
    where status = 'published'
),

run_pairs as (
    select
        f.run_id as from_run_id,
        f.as_of as from_as_of,
        f.attempt_id as from_attempt_id,
        t.run_id as to_run_id,
        t.as_of as to_as_of,
        t.attempt_id as to_attempt_id,
        not exists (
            select from published as b where b.as_of > f.as_of and b.as_of < t.as_of
        ) as consecutive
    from published as f
    inner join published as t on t.as_of > f.as_of
),

final as (
    select
        t.customer_id,
        p.from_run_id,
        p.from_as_of,
        coalesce(f.segment_key, 'new_customer') as from_segment_key,
        coalesce(f.segment_name, 'new_customer') as from_segment_name,
        p.to_run_id,
        p.to_as_of,
        t.segment_key as to_segment_key,
        t.segment_name as to_segment_name,
        coalesce(f.segment_key, 'new_customer') <> t.segment_key as moved,
        p.to_as_of - p.from_as_of as days_between,
        p.consecutive
    from run_pairs as p
    inner join segflow.segment_assignments as t on t.attempt_id = p.to_attempt_id
    left join segflow.segment_assignments as f on f.attempt_id = p.from_attempt_id and f.customer_id = t.customer_id
)

select * from final
""",
}


def _night(cur, as_of: date, customers: dict[str, tuple[str, int]]) -> int:
    cur.execute("insert into segflow.run_keys (as_of) values (%s) on conflict (as_of) do nothing", (as_of,))
    cur.execute(
        "insert into segflow.run_attempts (run_id, as_of, status, features, lookback_days, window_start) "
        "select run_id, as_of, 'running', array['recency_days'], 365, as_of - 365 from segflow.run_keys "
        "where as_of = %s returning attempt_id",
        (as_of,),
    )
    attempt = cur.fetchone()[0]
    cur.execute("select to_regclass('segflow.per_attempt_tables') is not null")
    if cur.fetchone()[0]:  # migration 016 on: rows go into the attempt's own tables
        attempt_tables.open_attached(cur, attempt)
    for number, (customer, (key, version)) in enumerate(sorted(customers.items())):
        cur.execute(
            "insert into segflow.customer_features (attempt_id, customer_id, recency_days, frequency, monetary) "
            "values (%s, %s, %s, 1, 10)",
            (attempt, customer, as_of.day + number),
        )
        cur.execute(
            "insert into segflow.segment_assignments (attempt_id, customer_id, segment_key, segment_name, action, "
            "model_version, cluster_key, distance, confidence) values (%s, %s, %s, %s, 'act', %s, %s, %s, 0.5)",
            (attempt, customer, key, NAMES[key], version, key, as_of.day / 10 + number),
        )
    return attempt


def _models(db) -> None:
    """Model versions 1 and 2, which the nights' segment summaries refer to."""
    with db.transaction() as cur:
        cur.execute(
            "insert into segflow.model_versions (version, status, algorithm, params, k, features, log_features, "
            "as_of, train_window_end, sample_size, seed, rfm_cut_points, metrics, candidates, selection_rule, gates, "
            "library_versions, artifact_path, artifact_sha256) select v, 'retired', 'kmeans', '{}', 3, "
            "array['recency_days'], array[]::text[], %s, %s, 10, 0, '{}', '{}', '[]', 'rule', '{}', '{}', 'x', 'x' "
            "from unnest(array[1, 2]) as v",
            (D1, D1),
        )


# Publishing as it was at migration 014 (steps 1 to 4 of that release): today's step files read tables of later
# migrations (per-attempt tables, run samples), which a database at 014 does not have yet.
PUBLISH_AT_014 = (
    """
-- Step 1 of publishing: the run's previously published attempt (if any) is replaced and its rows go;
-- other runs are untouched.
with replaced as (
    update segflow.run_attempts
    set status = 'replaced'
    where run_id = (select run_id from segflow.run_attempts where attempt_id = %(attempt_id)s)
        and status = 'published'
        and attempt_id <> %(attempt_id)s
    returning attempt_id
),

gone_assignments as (
    delete from segflow.segment_assignments
    where attempt_id in (select attempt_id from replaced)
),

gone_features as (
    delete from segflow.customer_features
    where attempt_id in (select attempt_id from replaced)
),

gone_comparisons as (
    delete from segflow.comparison_assignments
    where attempt_id in (select attempt_id from replaced)
)

select attempt_id from replaced""",
    """
-- Step 2 of publishing: the run itself.
update segflow.run_attempts
set status = 'published', published_at = now(), finished_at = now()
where attempt_id = %(attempt_id)s and status = 'running'
returning attempt_id""",
    """
-- Step 3 of publishing: BI reads this attempt, unless a run with a later as-of date is already current
-- (a backfill of an older date must not hide today's segments).
insert into segflow.current_run as cr (singleton, attempt_id)
values (true, %(attempt_id)s)
on conflict (singleton) do update
set attempt_id = excluded.attempt_id, switched_at = now()
where (select as_of from segflow.run_attempts where attempt_id = cr.attempt_id)
    <= (select as_of from segflow.run_attempts where attempt_id = excluded.attempt_id)
    or (select status from segflow.run_attempts where attempt_id = cr.attempt_id) <> 'published'""",
    """
-- Step 4 of publishing: the run's per-segment summary (segflow.segment_summary), replacing the one of
-- the attempt it replaces. Two statements: in one, a data-modifying CTE's delete would run after the insert.
delete from segflow.segment_summaries
where run_id = (select run_id from segflow.run_attempts where attempt_id = %(attempt_id)s);

with customers as (
    select t.run_id, t.attempt_id, a.segment_key, a.segment_name, a.action, a.model_version, f.recency_days,
        f.frequency, f.monetary
    from segflow.run_attempts as t
    inner join segflow.segment_assignments as a on a.attempt_id = t.attempt_id
    left join segflow.customer_features as f on f.attempt_id = a.attempt_id and f.customer_id = a.customer_id
    where t.attempt_id = %(attempt_id)s
),

final as (
    select
        run_id,
        attempt_id,
        segment_key,
        segment_name,
        -- every member of a segment gets the same action in a run
        min(action) as action,
        max(model_version) as model_version,
        count(*) as customers,
        count(*)::double precision / sum(count(*)) over () as share,
        avg(recency_days)::double precision as mean_recency_days,
        percentile_cont(0.5) within group (order by recency_days) as median_recency_days,
        avg(frequency)::double precision as mean_frequency,
        percentile_cont(0.5) within group (order by frequency) as median_frequency,
        avg(monetary)::double precision as mean_monetary,
        percentile_cont(0.5) within group (order by monetary) as median_monetary,
        coalesce(sum(monetary), 0) as total_monetary
    from customers
    group by run_id, attempt_id, segment_key, segment_name
)

insert into segflow.segment_summaries (
    run_id, attempt_id, segment_key, segment_name, action, model_version, customers, share, mean_recency_days,
    median_recency_days, mean_frequency, median_frequency, mean_monetary, median_monetary, total_monetary
)
select
    run_id, attempt_id, segment_key, segment_name, action, model_version, customers, share, mean_recency_days,
    median_recency_days, mean_frequency, median_frequency, mean_monetary, median_monetary, total_monetary
from final""",
)


@pytest.fixture
def upgraded(blank_db):
    """A database at migration 014 with the nights above published and D4 withdrawn, then upgraded."""
    migrations.upgrade(blank_db, target=14)
    _models(blank_db)
    for as_of, customers in NIGHTS:
        with blank_db.transaction() as cur:
            attempt = _night(cur, as_of, customers)
            for step in PUBLISH_AT_014:  # publish as it was before 015: no ranges to write yet
                cur.execute(step, {"attempt_id": attempt})
    withdrawal.withdraw(blank_db, blank_db.settings, D4, "test: taken back")
    migrations.upgrade(blank_db)
    return blank_db


def _history_from_ranges(db) -> list[tuple]:
    with db.transaction() as cur:
        cur.execute(f"select {HISTORY_COLUMNS} from segflow_bi.segment_history")
        rows = cur.fetchall()
    return sorted(rows, key=lambda row: (row[1], row[2]))


EXPECTED_RANGES = [
    ("c1", D1, D5, "S1", 1),  # D1, D2 (rerun), D3 (backfill) with model 1; D4 is withdrawn
    ("c1", D5, None, "S1", 2),  # a new model version opens a range even with the same key
    ("c2", D1, D2, "S1", 1),
    ("c2", D2, D5, "S2", 1),
    ("c2", D5, None, "S2", 2),
    ("c3", D1, D2, "S1", 1),
    ("c3", D2, D3, "S2", 1),  # the backfilled D3 splits S2 from the S1 that D5 has again
    ("c3", D3, D5, "S1", 1),
    ("c3", D5, None, "S1", 2),
    ("c4", D1, D2, "S3", 1),  # absent from D2: the gap closes the range
    ("c4", D3, D5, "S3", 1),
    ("c4", D5, None, "S3", 2),
    ("c5", D5, None, "S1", 2),  # first seen on the withdrawn D4: its range opens on D5
    ("c6", D1, D2, "S1", 1),
    ("c6", D2, None, "S1", 2),
    ("c7", D1, D5, "S2", 1),  # gone on D5: closed at D5, the next published run
]


def test_ranges_after_migration_015_are_exactly_the_changes_between_published_runs(upgraded, fetch):
    assert (
        fetch(
            upgraded,
            "select customer_id, valid_from, valid_to, segment_key, model_version from segflow.segment_ranges "
            "order by customer_id, valid_from",
        )
        == EXPECTED_RANGES
    )


def test_a_range_keeps_the_distance_and_run_of_the_night_that_opened_it(upgraded, fetch):
    # c3's S1 range from D3 opened on the backfilled D3 (c3 is the second of D3's customers: 15 / 10 + 2).
    assert fetch(
        upgraded,
        "select k.as_of, r.opened_distance from segflow.segment_ranges as r "
        "inner join segflow.run_keys as k on k.run_id = r.opened_run_id "
        "where r.customer_id = 'c3' and r.valid_from = %s",
        (D3,),
    ) == [(D3, 3.5)]


def test_history_read_from_the_ranges_is_the_published_attempts_rows_row_for_row(upgraded, fetch):
    today = _history(upgraded, fetch)
    assert len(today) == 6 + 5 + 6 + 6  # D1, D2, D3, D5; not the withdrawn D4 nor the replaced attempt of D2
    assert _history_from_ranges(upgraded) == today


def test_history_of_a_run_whose_own_rows_are_pruned_keeps_the_segment_and_loses_the_nightly_measures(upgraded, fetch):
    with upgraded.transaction() as cur:  # what retention will do to runs older than the kept ones
        for table in ("segment_assignments", "customer_features"):
            cur.execute(
                f"delete from segflow.{table} where attempt_id = "  # table from the tuple above
                "(select attempt_id from segflow.run_attempts where as_of = %s and status = 'published')",
                (D1,),
            )
    d1 = [row for row in _history_from_ranges(upgraded) if row[1] == D1]
    assert [(row[2], row[3], row[6]) for row in d1] == [
        ("c1", "S1", 1),
        ("c2", "S1", 1),
        ("c3", "S1", 1),
        ("c4", "S3", 1),
        ("c6", "S1", 1),
        ("c7", "S2", 1),
    ]
    assert {row[8:19] for row in d1} == {(None,) * 11}


def _apply(db, as_of: date, customers: dict[str, tuple[str, int]]) -> int:
    """Publish a night (its step 5 writes its segments into the ranges)."""
    with db.transaction() as cur:
        attempt = _night(cur, as_of, customers)
    publish.publish(db, db.settings, attempt)
    return attempt


ADJACENT_RANGES_OF_ONE_SEGMENT = """
    select customer_id, valid_from
    from (
        select *, lag((valid_to, segment_key, segment_name, action, model_version, cluster_key))
            over (partition by customer_id order by valid_from) as before
        from segflow.segment_ranges
    ) as r
    where before = (valid_from, segment_key, segment_name, action, model_version, cluster_key)
"""


def _history(db, fetch) -> list[tuple]:
    """The history as read from the published attempts' own rows (the oracle)."""
    return fetch(
        db,
        f"with h as ({FROM_ATTEMPT_ROWS['segment_history']}) "
        f"select {HISTORY_COLUMNS} from h order by as_of, customer_id",
    )


DEPRECATED_COLUMNS = {  # segflow.* views: the same rows as their segflow_bi namesakes, fewer columns
    "segment_history": "run_id, as_of, customer_id, segment_key, segment_name, action, model_version, recency_days, "
    "frequency, monetary, tenure_days, avg_order_value, r_score, f_score, m_score, distance, confidence, is_current, "
    "published_at, cluster_key",
    "current_segments": "customer_id, segment_key, segment_name, action, model_version, run_id, as_of, recency_days, "
    "frequency, monetary, tenure_days, r_score, f_score, m_score, distance, confidence, cluster_key",
}


def _same_as_the_views(db, fetch) -> None:
    """segment_history, current_segments and segment_transitions (read from the ranges) equal what the published
    attempts' own rows say; the deprecated segflow.* views equal their segflow_bi namesakes."""
    assert _history_from_ranges(db) == _history(db, fetch)
    for view, order in (("current_segments", (2,)), ("segment_transitions", (2, 6, 0))):
        from_ranges = fetch(db, f"select * from segflow_bi.{view}")
        from_rows = fetch(db, FROM_ATTEMPT_ROWS[view])
        assert sorted(from_ranges, key=lambda row: [row[i] for i in order]) == sorted(
            from_rows, key=lambda row: [row[i] for i in order]
        ), view
    for view, columns in DEPRECATED_COLUMNS.items():
        deprecated = fetch(db, f"select {columns} from segflow.{view} order by customer_id, as_of")
        assert deprecated == fetch(db, f"select {columns} from segflow_bi.{view} order by customer_id, as_of"), view


def test_ranges_written_night_by_night_give_todays_views_through_backfill_rerun_and_withdrawal(db, fetch):
    _models(db)
    for as_of, customers in NIGHTS:
        _apply(db, as_of, customers)
        _same_as_the_views(db, fetch)
    withdrawal.withdraw(db, db.settings, D4, "test: taken back")  # changes no range
    _same_as_the_views(db, fetch)
    _apply(db, D4, {"c1": ("S2", 2), "c3": ("S1", 1)})  # D4 run again after the withdrawal
    _same_as_the_views(db, fetch)
    _apply(db, date(2026, 2, 5), {"c1": ("S1", 2), "c2": ("S2", 2), "c3": ("S3", 2)})
    history = _history(db, fetch)
    assert len(history) == 6 + 5 + 6 + 2 + 6 + 3
    _same_as_the_views(db, fetch)
    assert fetch(db, ADJACENT_RANGES_OF_ONE_SEGMENT) == []  # merged: one range per unchanged stretch
    withdrawal.withdraw(db, db.settings, date(2026, 2, 5), "test: the current run taken back")  # BI reads D5 again
    assert fetch(db, "select as_of from segflow_bi.current_segments limit 1") == [(D5,)]
    _same_as_the_views(db, fetch)


def test_a_nightly_writes_ranges_only_for_the_customers_whose_segment_changed(db, fetch):
    _models(db)
    for as_of, customers in NIGHTS[:3]:  # D1, D2 (the attempt that is replaced later), D4
        _apply(db, as_of, customers)
    before = fetch(db, "select count(*) from segflow.segment_ranges")[0][0]
    _apply(db, *NIGHTS[3])  # D5: of D4's customers only c2 moves (S1 -> S2); c7 was already gone
    opened = fetch(
        db,
        "select r.customer_id, r.valid_from, r.valid_to from segflow.segment_ranges as r "
        "inner join segflow.run_keys as k on k.run_id = r.opened_run_id where k.as_of = %s",
        (D5,),
    )
    assert opened == [("c2", D5, None)]
    assert fetch(db, "select count(*) from segflow.segment_ranges")[0][0] == before + 1
    assert fetch(
        db, "select valid_from, valid_to from segflow.segment_ranges where customer_id = 'c2' order by valid_from"
    ) == [(D1, D2), (D4, D5), (D5, None)]  # absent from that first D2 attempt, back on D4 with model 2


def _merges_run(db, monkeypatch, as_of: date, customers: dict[str, tuple[str, int]]) -> bool:
    """Publish a night; whether publish ran the merge statements."""
    ran = []
    real = publish.run_named

    def spy(cur, name, params=None):
        ran.append(name)
        return real(cur, name, params)

    monkeypatch.setattr(publish, "run_named", spy)
    _apply(db, as_of, customers)
    monkeypatch.setattr(publish, "run_named", real)
    return publish.MERGE_RANGES_STEP in ran


def test_a_plain_nightly_skips_the_merge_and_a_rerun_or_backfill_runs_it(db, fetch, monkeypatch):
    _models(db)
    assert not _merges_run(db, monkeypatch, *NIGHTS[0])  # D1, the first night
    assert not _merges_run(db, monkeypatch, *NIGHTS[2])  # D4, the latest date: nothing can meet a new range
    assert _merges_run(db, monkeypatch, D2, {"c1": ("S1", 1)})  # a backfill before D4
    assert _merges_run(db, monkeypatch, D4, NIGHTS[2][1] | {"c1": ("S2", 2)})  # a rerun of D4
    assert fetch(db, ADJACENT_RANGES_OF_ONE_SEGMENT) == []
    _same_as_the_views(db, fetch)


def test_a_retrain_night_closes_every_open_range_and_opens_one_per_customer(db, fetch):
    _models(db)
    _apply(db, D1, {"c1": ("S1", 1), "c2": ("S2", 1), "c3": ("S1", 1)})
    _apply(db, D2, {"c1": ("S1", 2), "c2": ("S2", 2), "c3": ("S1", 2)})  # the same keys, model 2
    assert fetch(
        db, "select customer_id, valid_from, valid_to, model_version from segflow.segment_ranges order by 1, 2"
    ) == [
        ("c1", D1, D2, 1),
        ("c1", D2, None, 2),
        ("c2", D1, D2, 1),
        ("c2", D2, None, 2),
        ("c3", D1, D2, 1),
        ("c3", D2, None, 2),
    ]
    _same_as_the_views(db, fetch)


CUSTOMER_TWICE_IN_A_RUN = """
    select run_id, customer_id from segflow_bi.segment_history group by run_id, customer_id having count(*) > 1
"""
OVERLAPPING_RANGES = """
    select customer_id, valid_from
    from (
        select *, lag(valid_to) over (partition by customer_id order by valid_from) as before_to,
            lag(valid_from) over (partition by customer_id order by valid_from) as before_from
        from segflow.segment_ranges
    ) as r
    where before_from is not null and (before_to is null or before_to > valid_from)
"""


def test_no_customer_shows_twice_in_a_run_after_a_random_mix_of_nightly_backfill_rerun_and_withdrawal(db, fetch):
    rng = random.Random(25)
    _models(db)
    dates = [date(2026, 3, 1) + timedelta(days=7 * week) for week in range(8)]
    published: set[date] = set()
    done = []
    for _ in range(18):
        customers = {
            f"c{n}": (rng.choice(["S1", "S2", "S3"]), rng.choice([1, 2])) for n in range(8) if rng.random() < 0.8
        }
        latest = max(published, default=date.min)
        choices = {
            "nightly": [d for d in dates if d > latest],
            "backfill": [d for d in dates if d < latest and d not in published],
            "rerun": sorted(published),
            "withdraw": sorted(published) if len(published) > 1 else [],
        }
        what = rng.choice([kind for kind, options in choices.items() if options])
        as_of = rng.choice(choices[what]) if what != "nightly" else min(choices["nightly"])
        if what == "withdraw":
            try:
                withdrawal.withdraw(db, db.settings, as_of, "test: random mix")
            except withdrawal.WithdrawRefused:
                continue
            published.discard(as_of)
        else:
            _apply(db, as_of, customers)
            published.add(as_of)
        done.append(what)
        assert fetch(db, CUSTOMER_TWICE_IN_A_RUN) == [], done
        assert fetch(db, OVERLAPPING_RANGES) == [], done
        assert fetch(db, ADJACENT_RANGES_OF_ONE_SEGMENT) == [], done
        _same_as_the_views(db, fetch)
    assert set(done) == {"nightly", "backfill", "rerun", "withdraw"}  # the seed exercises every kind


def test_withdrawing_rebuilds_the_next_runs_transitions_from_ranges_when_the_earlier_runs_rows_are_pruned(db, fetch):
    _models(db)
    _apply(db, D1, {"c1": ("S1", 1), "c2": ("S1", 1), "c3": ("S2", 1)})
    _apply(db, D2, {"c1": ("S2", 1), "c2": ("S1", 1), "c3": ("S2", 1)})
    _apply(db, D3, {"c1": ("S1", 1), "c2": ("S3", 1), "c4": ("S1", 1)})
    with db.transaction() as cur:  # what retention will do to D1's per-customer rows
        for table in ("segment_assignments", "customer_features"):
            cur.execute(
                f"delete from segflow.{table} where attempt_id = "  # table from the tuple above
                "(select attempt_id from segflow.run_attempts where as_of = %s)",
                (D1,),
            )
    done = withdrawal.withdraw(db, db.settings, D2, "test: taken back")
    assert done.transitions_rebuilt == 4
    (d3_run,) = fetch(db, "select run_id from segflow.run_keys where as_of = %s", (D3,))[0]
    moves = db.run("queries/transitions/transitions_into_run", {"run_id": d3_run})
    assert sorted(row[2:7] for row in moves) == [  # from D1 (D2 is withdrawn); names from the runs' summaries
        ("S1", "Champions", "S1", "Champions", 1),
        ("S1", "Champions", "S3", "Hibernating", 1),
        ("S2", "Loyal", "gone", "gone", 1),
        ("new_customer", "new_customer", "S1", "Champions", 1),
    ]
