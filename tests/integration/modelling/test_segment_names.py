"""Names that fit every member (segflow/modelling/segments.py), through a real night on generated customers: the member
rule, the returns rule, a renamed inherited name, and the same names from the Scorer and the comparison."""

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from support.data import insert_lines
from support.databases import database_for_test, filled_template, fresh_database, settings_for

from segflow.data.generate import GeneratorSpec, generate_transactions
from segflow.modelling import comparison, registry
from segflow.modelling.scoring import Scorer
from segflow.modelling.segments import NAMES, RETURNED_ALL
from segflow.stages import run_nightly
from segflow.storage.db import Database

# Each test runs whole nights in process (seconds each): `pytest -m "not slow"` leaves them to the full run.
pytestmark = pytest.mark.slow

SPEC = GeneratorSpec(customers=1_500, days=200, seed=11, start=date(2024, 1, 1))
AS_OF = date(2024, 7, 18)  # the last generated day
RECENT_NAMES = ("Champions", "Loyal", "Potential loyalists", "New", "Promising")
# Members whose name contradicts their own scores: more than 2.5 from the name's prototype on some axis.
CONTRADICTIONS = """
    with p (name, r, f, m) as (select * from unnest(%s::text[], %s::float8[], %s::float8[], %s::float8[]))
    select count(*) from segflow.current_segments as c inner join p on p.name = c.segment_name
    where abs(c.r_score - p.r) > 2.5 or abs(c.f_score - p.f) > 2.5 or abs(c.m_score - p.m) > 2.5
"""


def prototypes() -> tuple[list[str], list[float], list[float], list[float]]:
    points = [point for point, _ in NAMES.values()]
    return list(NAMES), [p[0] for p in points], [p[1] for p in points], [p[2] for p in points]


def generate_with_a_full_return(db) -> None:
    """Generated customers plus one who bought 74,215 units and returned every one the same day."""
    generate_transactions(db, SPEC)
    bought = datetime(2024, 6, 18, 10, 1, tzinfo=UTC)
    jar = ("23166", "MEDIUM CERAMIC TOP STORAGE JAR")
    insert_lines(
        db,
        [
            ("541431", *jar, 74_215, 1.04, bought, "returns-all", "United Kingdom"),
            ("C541433", *jar, -74_215, 1.04, bought + timedelta(minutes=8), "returns-all", "United Kingdom"),
        ],
    )


@pytest.fixture(scope="module")
def published_template(server_url, template_database, tmp_path_factory):
    """Those customers and their published night of AS_OF (model v1), made once for the module."""

    def generate_and_run(db, settings):
        generate_with_a_full_return(db)
        run_nightly(db, settings, AS_OF)

    home = tmp_path_factory.mktemp("night") / "home"
    yield from filled_template(server_url, template_database, home, generate_and_run)


@pytest.fixture(scope="module")
def published(server_url, published_template):
    """A clone of that night shared by the tests that only read it: (database, settings, attempt)."""
    urls = fresh_database(server_url, published_template.database)
    settings = settings_for(next(urls), published_template.home)
    db = Database(settings)
    db.migrated = True
    with db.transaction() as cur:
        cur.execute("select attempt_id from segflow.current_run")
        (attempt,) = cur.fetchone()
    yield db, settings, attempt
    next(urls, None)  # drops the database


@pytest.fixture
def db_url(request, server_url, template_database, home):
    """A test that asks for `published_night` gets its own clone of `published_template`."""
    yield from database_for_test(
        request, server_url, template_database, home, {"published_night": "published_template"}
    )


@pytest.fixture
def published_night(db):
    """The test's database after the night of AS_OF (a clone of `published_template`)."""
    return db


def test_every_member_carries_a_name_its_own_scores_do_not_contradict(published, fetch):
    db, _, night = published
    assert fetch(db, CONTRADICTIONS, prototypes()) == [(0,)]
    lapsed = fetch(
        db,
        "select count(*) from segflow.current_segments where r_score = 1 and segment_name = any(%s)",
        (list(RECENT_NAMES),),
    )
    assert lapsed == [(0,)]
    moved, returned_all = fetch(
        db,
        "select count(*) filter (where segment_key <> cluster_key and segment_key <> 'returned_all'),"
        " count(*) filter (where segment_key = 'returned_all') from segflow.current_segments",
    )[0]
    # The figures stored with the run are those of its rows; the check that must be 0 is 0.
    assert fetch(
        db,
        "select members_moved, members_returned_all, name_contradictions from segflow.runs where attempt_id = %s",
        (night,),
    ) == [(moved, returned_all, 0)]
    assert moved > 0  # generated customers do contradict their cluster's name: the rule is not idle here
    # A moved member's cluster is kept; rule segments the model never saw have none.
    kept = fetch(
        db,
        "select count(*) filter (where cluster_key is null), count(*) filter (where cluster_key !~ '^S[0-9]+$')"
        " from segflow.current_segments where segment_key not in ('inactive', 'unscored')",
    )
    assert kept == [(0, 0)]
    assert fetch(
        db, "select count(*) from segflow.current_segments where segment_key = 'inactive' and cluster_key is not null"
    ) == [(0,)]


def test_a_customer_whose_returns_cancel_the_purchases_is_named_for_it(published, fetch):
    db = published[0]
    row = fetch(
        db,
        "select segment_key, segment_name, action, monetary::float, frequency, cluster_key"
        " from segflow.current_segments where customer_id = 'returns-all'",
    )[0]
    assert row[:5] == (*RETURNED_ALL, 77_183.6, 1)
    assert row[5].startswith("S")
    history = fetch(db, "select cluster_key from segflow.segment_history where customer_id = 'returns-all'")
    assert history == [(row[5],)]


def test_the_scorer_and_the_comparison_give_every_member_the_stage_s_name(published, fetch):
    db, settings, night = published
    version = registry.champion(db)
    features = pd.DataFrame(
        fetch(
            db,
            "select customer_id, recency_days::float, frequency::float, monetary::float, return_rate::float"
            " from segflow.customer_features where attempt_id = %s and frequency is not null order by customer_id",
            (night,),
        ),
        columns=["customer_id", "recency_days", "frequency", "monetary", "return_rate"],
    )
    scored = Scorer.load(db, version).score(features).rows
    stage = dict(
        fetch(db, "select customer_id, segment_key from segflow.segment_assignments where attempt_id = %s", (night,))
    )
    assert scored["segment_key"].tolist() == [stage[c] for c in scored["customer_id"]]
    assert (scored["segment_key"] == RETURNED_ALL[0]).sum() == sum(k == RETURNED_ALL[0] for k in stage.values())

    comparison.rescore(db, settings, night, version)
    compared = dict(
        fetch(
            db,
            "select customer_id, segment_key from segflow.comparison_assignments"
            " where attempt_id = %s and model_version = %s",
            (night, version),
        )
    )
    assert compared == stage


def test_an_inherited_name_the_new_segment_no_longer_fits_is_renamed_and_shown(published_night, settings, fetch):
    db = published_night
    # The champion's most lapsed segment is given a name that promises recent customers, as if they had lapsed
    # since; a retrained model on the next day inherits the key.
    segments = fetch(
        db, "select segment_key, name from segflow.model_segments where model_version = 1 order by mean_r_score"
    )
    lapsed_key, taken = segments[0][0], {name for _, name in segments}
    promise = next(name for name in RECENT_NAMES[1:] if name not in taken)
    fetch(
        db,
        "update segflow.model_segments set name = %s where model_version = 1 and segment_key = %s returning name",
        (promise, lapsed_key),
    )

    # The gate is opened wide, so that the retrained model becomes champion whatever it scores.
    open_gate = settings.model_copy(update={"challenger_margin": 10.0, "challenger_min_ari": -1.0})
    second = run_nightly(db, open_gate, AS_OF + timedelta(days=1), retrain="always")

    version = fetch(db, "select model_version from segflow.run_attempts where attempt_id = %s", (second,))[0][0]
    assert version == 2
    renamed = fetch(
        db,
        "select segment_key, renamed_from, name from segflow.model_segments"
        " where model_version = 2 and renamed_from is not null",
    )
    assert len(renamed) == 1 and renamed[0][:2] == (lapsed_key, promise) and renamed[0][2] != promise
    run_id = fetch(db, "select run_id from segflow.run_attempts where attempt_id = %s", (second,))[0][0]
    page = (settings.report_path / "drift" / f"run-{run_id}-transitions.html").read_text(encoding="utf-8")
    assert f"{lapsed_key} &#x27;{promise}&#x27; is now &#x27;{renamed[0][2]}&#x27;" in page
    assert fetch(db, CONTRADICTIONS, prototypes()) == [(0,)]
