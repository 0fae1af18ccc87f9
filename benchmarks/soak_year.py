"""A simulated year of unattended nights: does the nightly hold?

    python benchmarks/soak_year.py                      # embedded PostgreSQL under a temporary home
    python benchmarks/soak_year.py --database-url URL   # an existing (empty, migrated or not) database

About 400 days of generated lines whose behaviour is stable and then shifts (a wave of one-time buyers);
weekly nights in date order through segflow's own stages (segflow.stages.run_nightly: the same stages as the flow,
with its segment report and report retention); in the middle, ten older dates backfilled while a champion exists (five
before the first night, five between nights); three nights killed with SIGKILL at different stages (in a
child process) and rerun. Then it checks, and prints as figures:

- the champion's training date never goes backwards;
- trainings stay within what the policy allows (age: one per SEGFLOW_MAX_AGE_DAYS, drift: not within the
  cool-down after a losing challenger), and no losing challenger is retrained the next night for the same
  reason;
- distinct segment keys in the stable months <= largest k + 2; no drift event in the stable months; a drift
  event within two nights of the shift;
- every published run's drift report and transitions are against its real previous published run;
- no attempt left 'running', no rows of unpublished attempts, no child process left;
- report files only for the newest SEGFLOW_REPORT_RETENTION_RUNS runs.

Exit status 1 when a check fails. `tests/e2e/test_soak_year.py` runs it in CI.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

START = date(2024, 9, 2)
DAYS = 400
FIRST_NIGHT = START + timedelta(days=210)  # regular customers have all arrived and filled the look-back window
SHIFT = START + timedelta(days=300)  # a wave of one-time buyers starts here
LAST_NIGHT = START + timedelta(days=DAYS - 1)
STABLE_ARCHETYPES = ("loyal_big_spender", "regular", "one_time", "bargain_hunter")
KILLS = {2: "features", 9: "score", 16: "publish"}  # night index -> stage after which the process is killed

SOAK_SETTINGS = {
    "SEGFLOW_LOOKBACK_DAYS": "90",
    "SEGFLOW_DRIFT_SAMPLE": "2000",
    "SEGFLOW_SILHOUETTE_SAMPLE": "2000",
    "SEGFLOW_MAX_TRAIN_CUSTOMERS": "5000",
    "SEGFLOW_MAX_AGE_DAYS": "30",
    "SEGFLOW_RETRAIN_COOLDOWN_DAYS": "14",
    "SEGFLOW_REPORT_RETENTION_RUNS": "8",
    # Every run's per-customer rows stay: the year checks each backfilled date's drift report and transitions
    # against neighbours scored by older models, which re-scores them from their features. With the default (2) a
    # neighbour past retention and scored by another model is not compared (logged; docs/operating.md).
    "SEGFLOW_SCORED_RUNS_KEPT": "0",
}


# The checks' own queries (assertions about the result, like a test's; segflow's statements live in sql/).
# The models' own cluster keys (the rule segments, which members whose scores contradict their cluster's name may
# carry, do not depend on the model): key stability is about these.
STABLE_KEYS = """
select distinct s.cluster_key
from segflow.segment_assignments as s
inner join segflow.run_attempts as a on a.attempt_id = s.attempt_id
where a.status = 'published' and a.as_of >= %(first)s and a.as_of < %(before)s
    and s.cluster_key is not null
"""
PUBLISHED_WITH_PREVIOUS = """
select run_id, lag(run_id) over (order by as_of)
from segflow.run_attempts
where status = 'published'
"""
WRONG_NEIGHBOURS = """
with published as (
    select run_id, attempt_id, lag(run_id) over (order by as_of) as prev_run
    from segflow.run_attempts
    where status = 'published'
)

select p.run_id, p.prev_run, d.reference_run, d.attempt_id = p.attempt_id, t.from_runs
from published as p
left join segflow.drift_reports as d on d.run_id = p.run_id and d.reference = 'previous'
left join lateral (
    select array_agg(distinct from_run) as from_runs from segflow.segment_transitions where to_run = p.run_id
) as t on true
where d.reference_run is distinct from p.prev_run
    or d.attempt_id <> p.attempt_id
    or t.from_runs is distinct from (case when p.prev_run is not null then array[p.prev_run] end)
"""
RUNS_WITHOUT_REPORTS = """
with published as (
    select run_id, lag(run_id) over (order by as_of) as prev_run
    from segflow.run_attempts
    where status = 'published'
)

select p.run_id, array_agg(d.reference)
from published as p
left join segflow.drift_reports as d on d.run_id = p.run_id
group by p.run_id, p.prev_run
having count(d.reference) filter (where d.reference = 'training') = 0
    or (p.prev_run is not null and count(d.reference) filter (where d.reference = 'previous') = 0)
"""
LEFTOVERS = """
select
    (select count(*) from segflow.run_attempts where status = 'running'),
    (select count(*) from segflow.customer_features as f
     inner join segflow.run_attempts as a on a.attempt_id = f.attempt_id where a.status <> 'published'),
    (select count(*) from segflow.segment_assignments as s
     inner join segflow.run_attempts as a on a.attempt_id = s.attempt_id where a.status <> 'published'),
    (select count(*) from segflow.comparison_assignments as c
     inner join segflow.run_attempts as a on a.attempt_id = c.attempt_id where a.status <> 'published')
"""


def _query(db, text: str, params: dict | None = None) -> list[tuple]:
    with db.transaction() as cur:
        cur.execute(text, params)
        return cur.fetchall()


@dataclass
class Night:
    as_of: date
    attempt_id: int
    run_id: int
    kind: str  # nightly, backfill, rerun
    seconds: float
    champion_as_of: date
    retrained: bool
    outcome: str
    reason: str
    drift_event: bool


@dataclass
class Soak:
    nights: list[Night] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, message: str) -> None:
        print(("  ok    " if ok else "  FAIL  ") + message)
        if not ok:
            self.failures.append(message)


def _settings():
    from segflow.settings import Settings

    return Settings()


def _open():
    from segflow.orchestration.runtime import open_database

    return open_database(_settings())


def generate(customers: int) -> None:
    from segflow.data.generate import GeneratorSpec, generate_transactions

    _, db = _open()
    generate_transactions(
        db, GeneratorSpec(customers=customers, days=DAYS, seed=7, start=START, archetypes=STABLE_ARCHETYPES)
    )
    generate_transactions(
        db, GeneratorSpec(customers=int(customers * 0.8), days=14, seed=99, start=SHIFT, archetypes=("one_time",))
    )


def run_night(as_of: date, kind: str) -> Night:
    """One night as the flow runs it: the stages, the drift event decision, the segment report, retention."""
    from segflow import stages
    from segflow.modelling import registry
    from segflow.orchestration import runs

    settings, db = _open()
    started = time.perf_counter()
    night = stages.nightly(lambda stage, *args: stage(db, settings, *args), as_of)
    attempt_id = night.attempt_id
    summary = runs.run_summary(db, attempt_id)
    event = stages.monitor.drift_event_of_run(db, settings, attempt_id, night.drift) is not None
    champion = registry.details(db)
    return Night(
        as_of,
        attempt_id,
        summary["run_id"],
        kind,
        time.perf_counter() - started,
        date.fromisoformat(str(champion["as_of"])),
        summary["retrained"],
        summary["outcome"] or "",
        summary["retrain_reason"] or "",
        event,
    )


def killed_night(as_of: date, stage: str) -> None:
    """Run a night in a child process that SIGKILLs itself right after `stage`."""
    child = subprocess.run(
        [sys.executable, __file__, "--kill-at", stage, "--night", as_of.isoformat()],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if child.returncode != -signal.SIGKILL:
        raise SystemExit(f"the killed night {as_of} ended with {child.returncode}, not SIGKILL:\n{child.stderr}")


def _die_after(stage: str, as_of: date) -> None:
    """In the child: patch the stage to SIGKILL this process once it returns, then run the night."""
    from segflow import stages

    last_steps = {"features": stages.features.finish, "score": stages.score.finish, "publish": stages.publish.publish}
    killed_after = last_steps[stage]

    def run_then_die(step, *args):
        result = step(db, settings, *args)
        if step is killed_after:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    settings, db = _open()
    stages.nightly(run_then_die, as_of)


def nightly_dates() -> list[date]:
    return [FIRST_NIGHT + timedelta(days=7 * i) for i in range((LAST_NIGHT - FIRST_NIGHT).days // 7 + 1)]


def simulate(soak: Soak) -> None:
    nights = nightly_dates()
    backfill_at = len([d for d in nights if d < SHIFT]) - 3  # late in the stable months, a champion exists
    backfill = [FIRST_NIGHT - timedelta(days=7 * i) for i in range(5, 0, -1)] + [
        nights[i] + timedelta(days=3) for i in range(0, 10, 2)
    ]
    for index, day in enumerate(nights):
        if index in KILLS:
            killed_night(day, KILLS[index])
            soak.nights.append(run_night(day, "rerun"))
        else:
            soak.nights.append(run_night(day, "nightly"))
        if index == backfill_at:
            for old in backfill:
                soak.nights.append(run_night(old, "backfill"))


def verify(soak: Soak) -> None:
    import psutil

    from segflow.monitoring import retention
    from segflow.monitoring.transitions import transitions_path

    settings, db = _open()
    nightly = [n for n in soak.nights if n.kind != "backfill"]

    print("\nthe champion only moves forward")
    dates = [n.champion_as_of for n in soak.nights]
    soak.check(
        all(b >= a for a, b in itertools.pairwise(dates)),
        f"champion training dates in run order never go back: {sorted(set(dates))}",
    )
    backfills = [n for n in soak.nights if n.kind == "backfill"]
    soak.check(
        all(not n.retrained and n.outcome.startswith("scored with champion") for n in backfills),
        f"{len(backfills)} backfilled older dates trained nothing and scored with the champion",
    )

    print("\nretraining is bounded")
    trainings = [n for n in nightly if n.retrained]
    span = (nightly[-1].as_of - nightly[0].as_of).days
    allowed = 1 + span // settings.max_age_days + span // max(settings.retrain_cooldown_days, 1)
    soak.check(
        len(trainings) <= allowed,
        f"{len(trainings)} trainings over {span} days of nights (the policy allows at most {allowed})",
    )
    age_trainings = [n.as_of for n in trainings if "days before this run (max" in n.reason]
    gaps = [(b - a).days for a, b in itertools.pairwise(age_trainings)]
    soak.check(
        all(g > settings.max_age_days for g in gaps),
        f"age-triggered trainings at least {settings.max_age_days + 1} days apart: gaps {gaps}",
    )
    repeats = [
        b.as_of
        for a, b in itertools.pairwise(nightly)
        if "which lost" in a.outcome and b.retrained and _trigger(a.reason) == _trigger(b.reason)
    ]
    soak.check(not repeats, f"no losing challenger retrained the next night for the same reason {repeats or ''}")
    lost = sum("which lost" in n.outcome for n in trainings)
    promoted = sum("promoted" in n.outcome for n in trainings)
    print(
        f"  trainings: {len(trainings)} ({promoted} promoted, {lost} lost, "
        f"{len(trainings) - promoted - lost} first/other)"
    )

    print("\nsegment keys and drift")
    stable = [n for n in soak.nights if FIRST_NIGHT <= n.as_of < SHIFT]
    keys = {k for (k,) in _query(db, STABLE_KEYS, {"first": FIRST_NIGHT, "before": SHIFT})}
    largest_k = _query(db, "select max(k) from segflow.model_versions")[0][0]
    soak.check(
        len(keys) <= largest_k + 2,
        f"{len(keys)} distinct segment keys in the stable months "
        f"{sorted(keys, key=lambda k: int(k[1:]))} <= largest k {largest_k} + 2",
    )
    stable_events = [n.as_of for n in stable if n.drift_event]
    soak.check(not stable_events, f"no drift event in the {len(stable)} stable runs {stable_events or ''}")
    after = [n for n in nightly if n.as_of >= SHIFT]
    first_event = next((i for i, n in enumerate(after) if n.drift_event), None)
    soak.check(
        first_event is not None and first_event <= 1,
        f"a drift event within two nights of the shift (night {None if first_event is None else first_event + 1}"
        f" after {SHIFT})",
    )

    print("\nreports and transitions against the real previous run")
    wrong = _query(db, WRONG_NEIGHBOURS)
    for run_id, prev_run in _query(db, PUBLISHED_WITH_PREVIOUS):
        page = transitions_path(settings, run_id)
        if prev_run is not None and page.exists() and f"in run {prev_run} (rows)" not in page.read_text():
            wrong.append((run_id, prev_run, "transitions page"))
    soak.check(
        not wrong,
        f"every published run's 'previous' drift report and transitions are against its previous "
        f"published run {wrong or ''}",
    )
    missing = _query(db, RUNS_WITHOUT_REPORTS)
    soak.check(not missing, f"every published run with a previous run has both reports {missing or ''}")

    print("\nnothing left behind")
    leftovers = _query(db, LEFTOVERS)[0]
    soak.check(
        leftovers == (0, 0, 0, 0),
        f"running attempts, feature/assignment/comparison rows of unpublished attempts: {leftovers}",
    )
    abandoned = _query(db, "select count(*) from segflow.run_attempts where status = 'abandoned'")[0][0]
    # A night killed after publishing is whole already (its rerun replaces it); the others are abandoned.
    unfinished = sum(stage != "publish" for stage in KILLS.values())
    soak.check(
        abandoned == unfinished,
        f"{abandoned} attempts killed before publishing marked abandoned "
        f"(killed {len(KILLS)}, {unfinished} of them before publishing)",
    )
    children = [p for p in psutil.Process().children(recursive=True) if p.is_running()]
    soak.check(not children, f"no child process left {[p.name() for p in children] or ''}")

    print("\nreport retention")
    on_disk = retention.report_files(settings)
    soak.check(
        len(on_disk) <= settings.report_retention_runs,
        f"report files of {len(on_disk)} runs on disk (retention {settings.report_retention_runs} runs), "
        f"{sum(len(v) for v in on_disk.values())} files, "
        f"{sum(p.stat().st_size for v in on_disk.values() for p in v) / 1e6:.1f} MB",
    )


def _trigger(reason: str) -> str:
    if "drift against" in reason:
        return "drift"
    if "days before this run (max" in reason:
        return "age"
    return "other"


def print_figures(soak: Soak) -> None:
    print(
        f"\n{len(soak.nights)} runs ({sum(n.kind == 'nightly' for n in soak.nights)} nightly, "
        f"{sum(n.kind == 'backfill' for n in soak.nights)} backfilled, {sum(n.kind == 'rerun' for n in soak.nights)} "
        f"reruns of killed nights); median {statistics.median(n.seconds for n in soak.nights):.1f} s a run"
    )
    print(f"{'as of':<11} {'kind':<9} {'run':>4} {'champion':<11} {'event':<5} outcome")
    for n in soak.nights:
        print(
            f"{n.as_of!s:<11} {n.kind:<9} {n.run_id:>4} {n.champion_as_of!s:<11} {'yes' if n.drift_event else '':<5} "
            f"{n.outcome}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_500)
    parser.add_argument("--database-url", help="Use this database instead of an embedded one.")
    parser.add_argument("--home", type=Path, help="SEGFLOW_HOME (default: a temporary folder, removed after).")
    parser.add_argument("--kill-at", help=argparse.SUPPRESS)
    parser.add_argument("--night", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.kill_at:
        _die_after(args.kill_at, date.fromisoformat(args.night))
        return 2  # not reached: the stage kills the process

    home = args.home or Path(tempfile.mkdtemp(prefix="segflow-soak-"))
    os.environ.update(SOAK_SETTINGS, SEGFLOW_HOME=str(home))
    if args.database_url:
        os.environ["SEGFLOW_DATABASE_URL"] = args.database_url
    started = time.perf_counter()
    soak = Soak()
    try:
        generate(args.customers)
        simulate(soak)
        print_figures(soak)
        verify(soak)
    finally:
        if not args.database_url:
            from segflow.storage import embedded

            embedded.stop(_settings().pg_dir)
    print(f"\nsoak took {time.perf_counter() - started:.0f} s; {len(soak.failures)} check(s) failed")
    return 1 if soak.failures else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    raise SystemExit(main())
