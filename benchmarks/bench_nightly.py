"""What a night costs when one new day of lines arrived (issue 11), beside what it replaces.

Run by hand (it is not a test):

    python benchmarks/bench_nightly.py --customers 100000 --customers 1000000 --repeats 3 \\
        --history-customers 100000 --history-years 1 --history-years 2 --history-years 4 --profile --explain

--profile adds one night and one rebuild at the largest size, in one process with every named SQL file and COPY
timed (what each stage's seconds are made of); --explain prints EXPLAIN (ANALYZE, BUFFERS) of the night's feature
query there. `--repeats 0 --profile` profiles without measuring again.

Every figure is a whole process timed from outside (the interpreter, imports and connecting included), with warm
servers: one embedded PostgreSQL per home (left running between commands, as segflow leaves it) and one
`prefect server start` that this script starts on a free loopback port and stops at the end. `segflow run` gets its
PREFECT_API_URL, so it starts no API of its own. Figures from inside a process (stage seconds, the baselines' own
clocks after their imports) are printed beside them, and the goals compare like with like: whole process with whole
process, inside with inside.

Per customer count, in a home kept between invocations (<home-prefix>c<N>: generated once, 365 days ending
2025-12-31, trained once with retrain="always"; with --generator sql, <home-prefix>c<N>-sql generated inside
PostgreSQL by segflow/data/generate_in_database.py), after one untimed warm-up night, each repeat:

1. adds one new day of lines by plain SQL: the lines of the same weekday a week earlier, with new invoice numbers
   (about 0.3 % of all lines); the triggers record them and the night's first stage, fold, folds them;
2. **segflow run**: `segflow run --as-of DAY --retrain never`, its wall time and its stage seconds
   (segflow.run_attempts.stage_seconds); fold + features + score + publish is the part the first goal is about;
3. **plain SQL + COPY**: the simplest R/F/M GROUP BY over every line, COPY of its rows out and as many assignment
   rows back in (a script with psycopg2 only);
4. **naive**: read_sql of every line, pandas filtering, drop_duplicates and groupby, to_sql of the result (only the
   first repeat above --naive-once-above customers: minutes and ~14 GB at 1M);
5. **segflow rebuild**: every aggregate recomputed from every line.

The history series (--history-years) keeps one customer count (--history-customers) and generates 1, 2, 4 ... years
of lines ending on the same day, each in its own home (<home-prefix>h<N>-<Y>y); each repeat adds a day to each home
and runs a night there.

It prints medians of the repeats of this one invocation (ratios compare figures measured side by side on this noisy
machine), the peak RSS of each process (its largest process; PostgreSQL's own memory is not included), and the
issue's goals with their measured ratios. Homes keep their data (their PostgreSQL is stopped at the end): the next
invocation reuses them and only adds days.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

END = date(2025, 12, 31)  # the last generated day of every home; new days follow it
SEED = 7
CORE_STAGES = ("fold", "features", "score", "publish")
STAGE_ORDER = ("fold", "check_source", "features", "drift_check", "train", "score", "publish", "transitions", "drift")
HISTORY_TOLERANCE = 1.25  # "about the same per night": the longest history within 25 % of one year's

PLAIN_AGGREGATE = """
copy (
    select customer_id,
           %(as_of)s::date - max(invoiced_at)::date as recency_days,
           count(distinct invoice_id) as frequency,
           sum(quantity * unit_price) as monetary
    from segflow.transactions
    where customer_id is not null and quantity > 0 and unit_price > 0 and invoice_id not like 'C%%'
      and invoiced_at < (%(as_of)s::date + 1)
    group by customer_id
) to stdout with (format csv)
"""

# A new day's lines: the same weekday a week earlier, moved forward (168 hours: no time zone arithmetic), with new
# invoice numbers (a 'C' stays in front), so they are new orders of existing customers and exact duplicates stay
# exact duplicates of each other. Written as any other tool would write them: the capture triggers record them.
NEW_DAY = """
insert into segflow.transactions
    (invoice_id, stock_code, description, quantity, unit_price, invoiced_at, customer_id, country)
select invoice_id || '-' || to_char(%(day)s::date, 'YYYYMMDD'), stock_code, description, quantity, unit_price,
       invoiced_at + interval '168 hours', customer_id, country
from segflow.transactions
where invoiced_at >= ((%(day)s::date - 7)::timestamp at time zone 'UTC')
  and invoiced_at < ((%(day)s::date - 6)::timestamp at time zone 'UTC')
"""
LAST_DAY = "select (max(invoiced_at) at time zone 'UTC')::date from segflow.transactions"
LINES = "select coalesce(sum(lines), 0)::bigint from segflow.daily_line_totals"
ATTEMPT = """
select stage_seconds, aggregates
from segflow.run_attempts
where as_of = %(day)s and status = 'published'
order by attempt_id desc
limit 1
"""


# ---------------------------------------------------------------------------------------------------------------
# Processes


@dataclass(frozen=True)
class Process:
    """One finished process: wall seconds from outside, its peak RSS, what it printed."""

    seconds: float
    rss_mb: float
    stdout: str

    def last_json(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.stdout.strip().splitlines()[-1])
        return result


def run_process(command: Sequence[str], env: dict[str, str], cwd: Path) -> Process:
    """Run a command to its end; wall seconds and peak RSS (wait4: the largest of it and its waited-for children)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=cwd)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed ({child.returncode}):\n{err.read()[-4000:]}")
        return Process(seconds, usage.ru_maxrss / 1024, out.read())


def segflow_command() -> list[str]:
    """The `segflow` console script of this interpreter's environment (what a user or a worker runs)."""
    script = Path(sys.executable).with_name("segflow")
    return [str(script)] if script.exists() else [sys.executable, "-m", "segflow"]


def step_command(step: str, *args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--step", step, *args]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def prefect_server(state_dir: Path) -> Iterator[str]:
    """A Prefect server on a free loopback port, its state in state_dir; yields its API URL and stops it after."""
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(state_dir), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    prefect = Path(sys.executable).with_name("prefect")
    url = f"http://127.0.0.1:{port}/api"
    with (state_dir / "server.log").open("w") as log:
        # A session of its own, so that stopping it reaches whatever the server itself started, and nothing else.
        server = subprocess.Popen(
            [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            _wait_healthy(url, server, timeout_s=180)
            yield url
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def _wait_healthy(url: str, server: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"prefect server start exited with {server.returncode}; see its server.log")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise SystemExit(f"the Prefect server at {url} was not healthy within {timeout_s:.0f} s")


def private_runtime_dir(prefix: str) -> None:
    """pgserver puts its lock files in XDG_RUNTIME_DIR (else a shared temp folder): give it one of our own."""
    if os.environ.get("XDG_RUNTIME_DIR"):
        return
    path = Path(f"{prefix}xdg")
    path.mkdir(mode=0o700, exist_ok=True)
    path.chmod(0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(path)


# ---------------------------------------------------------------------------------------------------------------
# Steps: each runs in a fresh process (`--step NAME`) and prints one JSON line last.


def step_prepare(home: Path, customers: int, days: int, generator: str = "python") -> dict[str, Any]:
    """Generate the home's lines (once, by segflow generate's Python or inside the database) and train its first
    champion (once); the database URL."""
    from segflow.data.generate import GeneratorSpec, generate_transactions
    from segflow.data.generate_in_database import generate_in_database
    from segflow.orchestration.runtime import open_database
    from segflow.settings import Settings
    from segflow.stages import run_nightly

    settings, db = open_database(Settings(_env_file=None, home=home))  # type: ignore[call-arg]
    start = END - timedelta(days=days - 1)
    started = time.perf_counter()
    spec = GeneratorSpec(customers=customers, days=days, seed=SEED, start=start)
    generated = generate_in_database(db, spec) if generator == "sql" else generate_transactions(db, spec)
    generate_s = None if generated.already_generated else time.perf_counter() - started
    train_s = None
    if not db.run("queries/registry/champion_version"):
        started = time.perf_counter()
        run_nightly(db, settings, END, retrain="always")
        train_s = time.perf_counter() - started
    return {"url": db.url, "generate_s": generate_s, "train_s": train_s}


def step_plain(url: str, as_of: date) -> dict[str, Any]:
    """The plain R/F/M GROUP BY over every line, COPY out, COPY of as many assignment rows in (psycopg2 only)."""
    import psycopg2

    started = time.perf_counter()
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            out = io.StringIO()
            cur.copy_expert(cur.mogrify(PLAIN_AGGREGATE, {"as_of": as_of}).decode(), out)
            aggregated = time.perf_counter()
            cur.execute(
                "create temporary table bench_assignments (customer_id text, segment_key text,"
                " distance float8, confidence float8) on commit drop"
            )
            out.seek(0)
            back = io.StringIO("".join(f"{line.split(',', 1)[0]}\tS1\t0.5\t0.5\n" for line in out))
            cur.copy_expert("copy bench_assignments from stdin", back)
            rows = cur.rowcount
    finally:
        conn.close()
    done = time.perf_counter()
    return {
        "inside_s": done - started,
        "aggregate_out_s": aggregated - started,
        "copy_in_s": done - aggregated,
        "rows": rows,
    }


def step_naive(url: str, as_of: date) -> dict[str, Any]:
    """read_sql of every line, pandas filtering, drop_duplicates and groupby, to_sql of the result."""
    import pandas as pd
    import sqlalchemy

    started = time.perf_counter()
    engine = sqlalchemy.create_engine(url)
    lines = pd.read_sql("select * from segflow.transactions", engine)
    read = time.perf_counter()
    lines = lines[
        lines["customer_id"].notna()
        & (lines["quantity"] > 0)
        & (lines["unit_price"] > 0)
        & ~lines["invoice_id"].str.startswith("C")
    ].drop_duplicates()
    lines["amount"] = lines["quantity"].astype(float) * lines["unit_price"].astype(float)
    rfm = lines.groupby("customer_id").agg(
        last=("invoiced_at", "max"), frequency=("invoice_id", "nunique"), monetary=("amount", "sum")
    )
    rfm["recency_days"] = (pd.Timestamp(as_of, tz="UTC") - rfm["last"]).dt.days
    grouped = time.perf_counter()
    rfm.drop(columns="last").reset_index().to_sql(
        "naive_rfm", engine, schema="public", if_exists="replace", index=False, chunksize=50_000
    )
    engine.dispose()
    done = time.perf_counter()
    return {
        "inside_s": done - started,
        "read_s": read - started,
        "pandas_s": grouped - read,
        "write_s": done - grouped,
        "rows": len(rfm),
    }


def step_imports() -> dict[str, Any]:
    """What `segflow run` imports before its first stage: the CLI and the flow (Prefect, the stages)."""
    import flows.nightly  # noqa: F401
    import segflow.cli  # noqa: F401

    return {"evidently": "evidently" in sys.modules, "sklearn": "sklearn" in sys.modules}


def step_explain(home: Path, as_of: date) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of the night's feature query (from the per-customer rollups when they describe
    the date, else queries/features/compute_rfm_features; all customers in one partition), into a temporary table:
    the query runs for real, and nothing stays."""
    from psycopg2 import sql

    from segflow.data import rollups
    from segflow.orchestration.partitions import WHOLE
    from segflow.orchestration.runtime import open_database
    from segflow.settings import Settings
    from segflow.storage.sqlfiles import read_sql

    settings, db = open_database(Settings(_env_file=None, home=home))  # type: ignore[call-arg]
    params = {"attempt_id": 0, "as_of": as_of, "lookback_days": settings.lookback_days, **WHOLE.params()}
    with db.transaction() as cur:
        name = "queries/features/compute_rfm_features"
        if rollups.usable(cur, as_of, settings.lookback_days):
            name = "queries/features/compute_rfm_features_from_rollups"
        query = sql.SQL("explain (analyze, buffers) " + read_sql(name)).format(target=sql.Identifier("bench_features"))
        cur.execute("create temporary table bench_features (like segflow.customer_features) on commit drop")
        cur.execute(query, params)
        plan = [f"-- {name}", *(row[0] for row in cur.fetchall())]
    return {"plan": plan}


def step_profile(home: Path, as_of: date) -> dict[str, Any]:
    """A scoring night as of `as_of` (its lines already added; the stages in this process, without Prefect), then a
    rebuild, with every named SQL file, COPY in and COPY out timed: what each stage's seconds are made of."""
    import segflow.storage.db
    from segflow.data import aggregates
    from segflow.orchestration.runtime import open_database
    from segflow.settings import Settings
    from segflow.stages import nightly

    settings, db = open_database(Settings(_env_file=None, home=home))  # type: ignore[call-arg]
    current = ["(before the first stage)"]
    spent: dict[tuple[str, str], float] = {}

    def add(what: str, seconds: float) -> None:
        key = (current[0], what)
        spent[key] = spent.get(key, 0.0) + seconds

    def timing(function: Callable[..., Any], what: Callable[..., str]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                add(what(*args), time.perf_counter() - started)

        return timed

    # Every module imported `run_named` & co. by name: patch each binding, segflow.storage.db's own included.
    originals = {name: getattr(segflow.storage.db, name) for name in ("run_named", "run_composed_named", "copy_in")}
    wrappers = {
        "run_named": timing(segflow.storage.db.run_named, lambda cur, name, *rest: name),
        "run_composed_named": timing(segflow.storage.db.run_composed_named, lambda cur, name, *rest: name),
        "copy_in": timing(segflow.storage.db.copy_in, lambda cur, table, *rest: f"COPY in {table}"),
    }
    for module in [m for name, m in sys.modules.items() if name == "segflow" or name.startswith("segflow.")]:
        for attribute, wrapper in wrappers.items():
            if getattr(module, attribute, None) is originals[attribute]:
                setattr(module, attribute, wrapper)
    copy_out = segflow.storage.db.Database.copy_out

    @contextmanager
    def timed_copy_out(self: segflow.storage.db.Database, statement: Any) -> Iterator[Any]:
        started = time.perf_counter()
        with copy_out(self, statement) as spool:
            add("COPY out (features, drift frames)", time.perf_counter() - started)
            yield spool

    segflow.storage.db.Database.copy_out = timed_copy_out  # type: ignore[method-assign]
    stages: dict[str, float] = {}

    def runner(stage: Callable[..., Any], *args: Any) -> Any:
        current[0] = f"{stage.__module__.rsplit('.', 1)[-1]}.{stage.__name__}"
        started = time.perf_counter()
        try:
            return stage(db, settings, *args)
        finally:
            stages[current[0]] = stages.get(current[0], 0.0) + time.perf_counter() - started

    nightly(runner, as_of, "never")
    current[0] = "segflow rebuild"
    started = time.perf_counter()
    aggregates.bring_current(db, settings, rebuild=True)
    stages[current[0]] = time.perf_counter() - started
    return {
        "stages": stages,
        "queries": [[stage, what, seconds] for (stage, what), seconds in spent.items()],
    }


# ---------------------------------------------------------------------------------------------------------------
# Measurements


@dataclass(frozen=True)
class Home:
    """One embedded database with its generated lines."""

    path: Path
    customers: int
    days: int
    generator: str = "python"

    @property
    def years(self) -> int:
        return round(self.days / 365)


@dataclass(frozen=True)
class NightFigures:
    """A scoring night after one new day: the new lines, the whole command, its stages."""

    day: date
    new_lines: int
    share_of_lines: float
    wall_s: float
    rss_mb: float
    stages: dict[str, float]
    fold: dict[str, Any]

    @property
    def core_s(self) -> float:
        return sum(self.stages.get(stage, 0.0) for stage in CORE_STAGES)

    @property
    def outside_stages_s(self) -> float:
        return self.wall_s - sum(self.stages.values())


@dataclass(frozen=True)
class Timed:
    """A whole process and its own clock's figures (after imports)."""

    wall_s: float
    rss_mb: float
    inside: dict[str, Any]


@dataclass
class SizeFigures:
    home: Home
    lines: int = 0
    prepared: dict[str, Any] = field(default_factory=dict)
    nights: list[NightFigures] = field(default_factory=list)
    plain: list[Timed] = field(default_factory=list)
    naive: list[Timed] = field(default_factory=list)
    rebuild: list[Timed] = field(default_factory=list)


class Bench:
    """The servers and homes of one invocation."""

    def __init__(self, api_url: str, prefect_home: Path) -> None:
        self.api_url = api_url
        self.prefect_home = prefect_home
        self.urls: dict[Path, str] = {}

    def env(self, home: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEGFLOW_")}
        env.update(
            SEGFLOW_HOME=str(home),
            PREFECT_API_URL=self.api_url,
            PREFECT_HOME=str(self.prefect_home),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            COLUMNS="200",  # rich wraps at 80 columns without a terminal; keeps one figure on one line
        )
        return env

    def prepare(self, home: Home) -> dict[str, Any]:
        home.path.mkdir(parents=True, exist_ok=True)
        done = run_process(
            step_command(
                "prepare",
                "--home",
                str(home.path),
                "--customers",
                str(home.customers),
                "--days",
                str(home.days),
                "--generator",
                home.generator,
            ),
            self.env(home.path),
            home.path,
        )
        prepared = done.last_json()
        self.urls[home.path] = prepared.pop("url")
        prepared["prepare_wall_s"] = done.seconds
        prepared["prepare_rss_mb"] = done.rss_mb
        return prepared

    def query(self, home: Path, statement: str, params: dict[str, Any] | None = None) -> Any:
        import psycopg2

        conn = psycopg2.connect(self.urls[home])
        try:
            with conn, conn.cursor() as cur:
                cur.execute(statement, params)
                return cur.fetchone() if cur.description else cur.rowcount
        finally:
            conn.close()

    def last_day(self, home: Path) -> date:
        day: date = self.query(home, LAST_DAY)[0]
        return day

    def lines(self, home: Path) -> int:
        count: int = self.query(home, LINES)[0]
        return count

    def night(self, home: Path, day: date) -> NightFigures:
        """Add the day's lines, then time `segflow run` as of that day."""
        before = self.lines(home)
        new_lines: int = self.query(home, NEW_DAY, {"day": day})
        done = run_process(
            [*segflow_command(), "run", "--as-of", day.isoformat(), "--retrain", "never"], self.env(home), home
        )
        stages, fold = self.query(home, ATTEMPT, {"day": day})
        return NightFigures(day, new_lines, new_lines / before, done.seconds, done.rss_mb, stages, fold or {})

    def warm_up(self, home: Path) -> float:
        """An untimed night as of the newest day: folds whatever is pending, warms caches and the Prefect server."""
        day = self.last_day(home)
        return run_process(
            [*segflow_command(), "run", "--as-of", day.isoformat(), "--retrain", "never"], self.env(home), home
        ).seconds

    def plain(self, home: Path, as_of: date) -> Timed:
        done = run_process(
            step_command("plain", "--url", self.urls[home], "--as-of", as_of.isoformat()), {**os.environ}, home
        )
        return Timed(done.seconds, done.rss_mb, done.last_json())

    def naive(self, home: Path, as_of: date) -> Timed:
        done = run_process(
            step_command("naive", "--url", self.urls[home], "--as-of", as_of.isoformat()), {**os.environ}, home
        )
        return Timed(done.seconds, done.rss_mb, done.last_json())

    def rebuild(self, home: Path) -> Timed:
        done = run_process([*segflow_command(), "rebuild"], self.env(home), home)
        said = re.search(r"rebuilt in ([0-9.]+) s", done.stdout)
        return Timed(done.seconds, done.rss_mb, {"inside_s": float(said.group(1)) if said else float("nan")})

    def imports(self, home: Path) -> Timed:
        done = run_process(step_command("imports"), self.env(home), home)
        return Timed(done.seconds, done.rss_mb, done.last_json())

    def explain(self, home: Path, as_of: date) -> list[str]:
        done = run_process(
            step_command("explain", "--home", str(home), "--as-of", as_of.isoformat()), self.env(home), home
        )
        plan: list[str] = done.last_json()["plan"]
        return plan

    def profile(self, home: Path) -> dict[str, Any]:
        """Add a day, then profile its night and a rebuild in one process (see step_profile)."""
        day = self.last_day(home) + timedelta(days=1)
        self.query(home, NEW_DAY, {"day": day})
        done = run_process(
            step_command("profile", "--home", str(home), "--as-of", day.isoformat()), self.env(home), home
        )
        return done.last_json()

    def stop_database(self, home: Path) -> None:
        run_process([*segflow_command(), "db", "stop"], self.env(home), home)


def measure_size(bench: Bench, figures: SizeFigures, repeats: int, naive_repeats: int) -> None:
    home = figures.home.path
    print(f"  warm-up night: {bench.warm_up(home):.1f} s", flush=True)
    figures.lines = bench.lines(home)
    for repeat in range(repeats):
        day = bench.last_day(home) + timedelta(days=1)
        night = bench.night(home, day)
        figures.nights.append(night)
        figures.plain.append(bench.plain(home, day))
        if repeat < naive_repeats:
            figures.naive.append(bench.naive(home, day))
        figures.rebuild.append(bench.rebuild(home))
        print(
            f"  repeat {repeat + 1}: {day}, {night.new_lines:,} new lines; run {night.wall_s:.1f} s "
            f"(core {night.core_s:.2f} s), plain {figures.plain[-1].wall_s:.1f} s, "
            f"naive {figures.naive[-1].wall_s if repeat < naive_repeats else float('nan'):.1f} s, "
            f"rebuild {figures.rebuild[-1].wall_s:.1f} s",
            flush=True,
        )


def measure_history(bench: Bench, homes: list[SizeFigures], repeats: int) -> None:
    """Interleaved: each repeat adds a day to every home and runs its night, so noise falls on all alike."""
    for figures in homes:
        print(f"  warm-up night, {figures.home.years} y: {bench.warm_up(figures.home.path):.1f} s", flush=True)
        figures.lines = bench.lines(figures.home.path)
    for repeat in range(repeats):
        for figures in homes:
            home = figures.home.path
            night = bench.night(home, bench.last_day(home) + timedelta(days=1))
            figures.nights.append(night)
            print(
                f"  repeat {repeat + 1}, {figures.home.years} y: run {night.wall_s:.1f} s (core {night.core_s:.2f} s)",
                flush=True,
            )


# ---------------------------------------------------------------------------------------------------------------
# Report


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def med(items: Sequence[Any], get: Callable[[Any], float]) -> float:
    return median([get(item) for item in items])


def stage_medians(nights: Sequence[NightFigures]) -> dict[str, float]:
    names = {name for night in nights for name in night.stages}
    ordered = [s for s in STAGE_ORDER if s in names] + sorted(names - set(STAGE_ORDER))
    return {name: median([night.stages.get(name, 0.0) for night in nights]) for name in ordered}


def dominant(parts: dict[str, float]) -> str:
    name, seconds = max(parts.items(), key=lambda item: item[1])
    return f"{name} {seconds:.1f} s ({seconds / sum(parts.values()):.0%})"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> str:
    """A markdown table; `align` gives each column's alignment, 'l' or 'r' (default: text first, figures after)."""
    align = align or "l" + "r" * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if a == "l" else "---:" for a in align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def inside(items: Sequence[Timed], key: str) -> float:
    return median([item.inside[key] for item in items])


def start_up(items: Sequence[Timed]) -> float:
    """Wall time outside the process's own clock: interpreter, imports (and, for segflow, connecting)."""
    return median([item.wall_s - item.inside["inside_s"] for item in items])


def breakdown(s: SizeFigures) -> str:
    """Where the baselines' and the rebuild's time goes, and how much a night folded."""
    parts = [
        f"plain = aggregate + COPY out {inside(s.plain, 'aggregate_out_s'):.2f} + COPY in "
        f"{inside(s.plain, 'copy_in_s'):.2f} + start-up {start_up(s.plain):.2f}"
    ]
    if s.naive:
        parts.append(
            f"naive = read_sql {inside(s.naive, 'read_s'):.1f} + pandas {inside(s.naive, 'pandas_s'):.1f} + to_sql "
            f"{inside(s.naive, 'write_s'):.1f} + start-up {start_up(s.naive):.1f}"
        )
    parts.append(f"rebuild start-up {start_up(s.rebuild):.2f}")
    parts.append(f"keys folded per night {med(s.nights, lambda x: float(x.fold.get('keys', 0))):,.0f}")
    return "; ".join(parts)


def report(sizes: list[SizeFigures], history: list[SizeFigures], imports: Timed | None) -> None:
    print("\nAll times are medians of the repeats; 'whole' = the whole process timed from outside (interpreter,")
    print("imports and connecting included); 'inside' = the process's own clock after its imports.\n")
    rows = []
    for s in sizes:
        n = s.nights
        rows.append(
            [
                f"{s.home.customers:,}",
                f"{s.lines:,}",
                f"{med(n, lambda x: x.new_lines):,.0f} ({med(n, lambda x: x.share_of_lines):.2%})",
                f"{med(n, lambda x: x.wall_s):.2f} s",
                f"{med(n, lambda x: x.core_s):.2f} s",
                f"{med(s.plain, lambda x: x.wall_s):.2f} / {med(s.plain, lambda x: x.inside['inside_s']):.2f} s",
                f"{med(s.naive, lambda x: x.wall_s):.2f} / {med(s.naive, lambda x: x.inside['inside_s']):.2f} s"
                f" (n={len(s.naive)})",
                f"{med(s.rebuild, lambda x: x.wall_s):.2f} / {med(s.rebuild, lambda x: x.inside['inside_s']):.2f} s",
            ]
        )
    print(
        table(
            [
                "customers",
                "lines",
                "new day's lines",
                "segflow run (whole)",
                "fold+features+score+publish",
                "plain SQL+COPY (whole / inside)",
                "naive (whole / inside)",
                "segflow rebuild (whole / inside)",
            ],
            rows,
        )
    )
    print("\nPeak RSS (MB, medians)\n")
    print(
        table(
            ["customers", "segflow run", "plain", "naive", "rebuild"],
            [
                [
                    f"{s.home.customers:,}",
                    f"{med(s.nights, lambda x: x.rss_mb):,.0f}",
                    f"{med(s.plain, lambda x: x.rss_mb):,.0f}",
                    f"{med(s.naive, lambda x: x.rss_mb):,.0f}",
                    f"{med(s.rebuild, lambda x: x.rss_mb):,.0f}",
                ]
                for s in sizes
            ],
        )
    )
    print("\nWhere the time goes (medians, s)\n")
    all_stages = stage_medians([night for s in sizes + history for night in s.nights])
    stage_rows = []
    for s in sizes + history:
        stages = stage_medians(s.nights)
        label = f"{s.home.customers:,}" + (f", {s.home.years} y history" if s in history else "")
        outside = med(s.nights, lambda x: x.outside_stages_s)
        stage_rows.append(
            [label]
            + [f"{stages.get(name, 0.0):.2f}" for name in all_stages]
            + [f"{outside:.2f}", f"{med(s.nights, lambda x: x.wall_s):.2f}", dominant({**stages, "outside": outside})]
        )
    print(table(["run", *all_stages, "outside stages", "whole", "largest"], stage_rows))
    for s in sizes:
        print(f"\n{s.home.customers:,}: {breakdown(s)}")
    if imports is not None:
        print(
            f"\nImporting the CLI and the flow alone (python -c 'import segflow.cli, flows.nightly'): "
            f"{imports.wall_s:.2f} s whole, {imports.rss_mb:.0f} MB (evidently loaded: {imports.inside['evidently']}, "
            f"scikit-learn loaded: {imports.inside['sklearn']})"
        )
    if history:
        print("\nHistory at the same customer count (medians, s)\n")
        base = history[0]
        rows = []
        for h in history:
            stages = stage_medians(h.nights)
            rows.append(
                [
                    f"{h.home.years}",
                    f"{h.home.customers:,}",
                    f"{h.lines:,}",
                    f"{med(h.nights, lambda x: x.new_lines):,.0f}",
                    *(f"{stages.get(name, 0.0):.2f}" for name in CORE_STAGES),
                    f"{med(h.nights, lambda x: x.core_s):.2f}",
                    f"{med(h.nights, lambda x: x.core_s) / med(base.nights, lambda x: x.core_s):.2f}x",
                    f"{med(h.nights, lambda x: x.wall_s):.2f}",
                    f"{med(h.nights, lambda x: x.wall_s) / med(base.nights, lambda x: x.wall_s):.2f}x",
                ]
            )
        header = ["years", "customers", "lines", "new day", *CORE_STAGES, "core", "core vs first", "whole run"]
        print(table([*header, "whole vs first"], rows))
    print("\nGoals\n")
    print(table(["goal", "at", "measured", "met?"], goals(sizes, history), align="llrl"))


def print_profile(customers: int, profile: dict[str, Any], shown: int = 4) -> None:
    """Each stage's seconds and the named SQL files, COPYs and the rest (Python) it spent them on."""
    print(f"\nProfile of one night and one rebuild at {customers:,} customers (in one process, no Prefect; s)\n")
    rows = []
    for stage, seconds in sorted(profile["stages"].items(), key=lambda item: -item[1]):
        parts = sorted(((what, s) for st, what, s in profile["queries"] if st == stage), key=lambda item: -item[1])
        rest = seconds - sum(s for _, s in parts)
        shown_parts = [f"{what} {s:.2f}" for what, s in parts[:shown]] + [f"other (Python, small queries) {rest:.2f}"]
        rows.append([stage, f"{seconds:.2f}", "; ".join(shown_parts)])
    print(table(["stage", "seconds", "largest parts"], rows, align="lrl"))


def goals(sizes: list[SizeFigures], history: list[SizeFigures]) -> list[list[str]]:
    rows: list[list[str]] = []

    def add(goal: str, at: str, ratio: float, target: float, at_most: bool, detail: str) -> None:
        met = ratio <= target if at_most else ratio >= target
        verdict = (
            "yes"
            if met
            else f"**no** ({ratio / target:.1f}x over)"
            if at_most
            else f"**no** ({target / ratio:.1f}x short)"
        )
        rows.append([goal, at, f"{ratio:.2f}x ({detail})", verdict])

    if sizes:
        big = max(sizes, key=lambda s: s.home.customers)
        at = f"{big.home.customers:,}"
        core = med(big.nights, lambda x: x.core_s)
        wall = med(big.nights, lambda x: x.wall_s)
        plain_whole = med(big.plain, lambda x: x.wall_s)
        plain_inside = med(big.plain, lambda x: x.inside["inside_s"])
        add(
            "night's fold+features+score+publish <= 0.3x plain SQL+COPY (both inside their process)",
            at,
            core / plain_inside,
            0.3,
            True,
            f"{core:.2f} s vs {plain_inside:.2f} s",
        )
        add(
            "whole `segflow run` <= 1x plain SQL+COPY (both whole processes)",
            at,
            wall / plain_whole,
            1.0,
            True,
            f"{wall:.2f} s vs {plain_whole:.2f} s",
        )
        if big.naive:
            naive = med(big.naive, lambda x: x.wall_s)
            add(
                "whole `segflow run` >= 10x faster than naive (both whole processes)",
                at,
                naive / wall,
                10.0,
                False,
                f"{naive:.2f} s vs {wall:.2f} s",
            )
        rebuild = med(big.rebuild, lambda x: x.wall_s)
        add(
            "`segflow rebuild` <= 1.5x plain SQL+COPY (both whole processes)",
            at,
            rebuild / plain_whole,
            1.5,
            True,
            f"{rebuild:.2f} s vs {plain_whole:.2f} s",
        )
        small = min(sizes, key=lambda s: s.home.customers)
        if small.naive:
            wall, naive = med(small.nights, lambda x: x.wall_s), med(small.naive, lambda x: x.wall_s)
            add(
                "whole `segflow run` >= 5x faster than naive (both whole processes)",
                f"{small.home.customers:,}",
                naive / wall,
                5.0,
                False,
                f"{naive:.2f} s vs {wall:.2f} s",
            )
    if len(history) > 1:
        first, last = history[0], history[-1]
        at = f"{first.home.customers:,}, {first.home.years} y vs {last.home.years} y"
        for what, get in (
            ("fold+features+score+publish", lambda x: x.core_s),
            ("whole `segflow run`", lambda x: x.wall_s),
        ):
            a, b = med(first.nights, get), med(last.nights, get)
            add(
                f"a night's {what} about the same with {last.home.years}x the history (<= {HISTORY_TOLERANCE}x)",
                at,
                b / a,
                HISTORY_TOLERANCE,
                True,
                f"{b:.2f} s vs {a:.2f} s",
            )
    return rows


# ---------------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, action="append", help="customer counts (repeatable)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--naive-once-above",
        type=int,
        default=500_000,
        help="above this many customers the naive way runs in the first repeat only",
    )
    parser.add_argument("--skip-naive-above", type=int, default=10_000_000, help="no naive way above this")
    parser.add_argument(
        "--generator",
        choices=["python", "sql"],
        default="python",
        help="how the size homes' lines are generated: segflow generate, or set-based inside PostgreSQL (homes "
        "<prefix>c<N>-sql; segflow/data/generate_in_database.py, about 68k lines/s here)",
    )
    parser.add_argument("--history-customers", type=int, default=100_000)
    parser.add_argument("--history-years", type=int, action="append", default=[], help="years of history (repeat)")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the feature query at the largest size")
    parser.add_argument(
        "--profile", action="store_true", help="at the largest size, one more night and rebuild with every query timed"
    )
    parser.add_argument(
        "--home-prefix", default="/tmp/bench-nightly-", help="homes are <prefix>c<N>, <prefix>h<N>-<Y>y"
    )
    parser.add_argument(
        "--step", choices=["prepare", "plain", "naive", "imports", "explain", "profile"], help=argparse.SUPPRESS
    )
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--days", type=int, default=365, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--as-of", type=date.fromisoformat, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(run_step(args), default=str))
        return

    private_runtime_dir(args.home_prefix)
    # Homes generated in the database are homes of their own (other lines than segflow generate's).
    suffix = "-sql" if args.generator == "sql" else ""
    sizes = [
        SizeFigures(Home(Path(f"{args.home_prefix}c{n}{suffix}"), n, 365, args.generator))
        for n in args.customers or [100_000]
    ]
    history = [
        SizeFigures(Home(Path(f"{args.home_prefix}h{args.history_customers}-{y}y"), args.history_customers, 365 * y))
        for y in sorted(args.history_years)
    ]
    prefect_home = Path(
        tempfile.mkdtemp(prefix=f"{Path(args.home_prefix).name}prefect-", dir=Path(args.home_prefix).parent)
    )
    started = time.perf_counter()
    try:
        with prefect_server(prefect_home) as api_url:
            bench = Bench(api_url, prefect_home)
            try:
                for figures in sizes + history:
                    figures.prepared = bench.prepare(figures.home)
                    print(f"{figures.home.path}: {figures.prepared}", flush=True)
                imports = bench.imports(sizes[0].home.path) if sizes else None
                for figures in sizes:
                    print(f"\n== {figures.home.customers:,} customers", flush=True)
                    measure_size(bench, figures, args.repeats, naive_repeats(figures.home.customers, args))
                if history:
                    print(f"\n== history, {args.history_customers:,} customers", flush=True)
                    measure_history(bench, history, args.repeats)
                if args.repeats > 0:
                    report(sizes, history, imports)
                big = max(sizes, key=lambda s: s.home.customers) if sizes else None
                if args.profile and big is not None:
                    print_profile(big.home.customers, bench.profile(big.home.path))
                if args.explain and big is not None:
                    print(f"\nEXPLAIN (ANALYZE, BUFFERS) of the feature query at {big.home.customers:,} customers:\n")
                    print("\n".join(bench.explain(big.home.path, bench.last_day(big.home.path))))
            finally:
                for figures in sizes + history:
                    if figures.home.path in bench.urls:
                        bench.stop_database(figures.home.path)
    finally:
        shutil.rmtree(prefect_home, ignore_errors=True)
    print(f"\ncommand: {' '.join(sys.argv)}  ({time.perf_counter() - started:.0f} s in all)")


def naive_repeats(customers: int, args: argparse.Namespace) -> int:
    """The naive way takes minutes and ~14 GB at 1M customers: once above --naive-once-above, never above
    --skip-naive-above."""
    if customers > args.skip_naive_above:
        return 0
    return 1 if customers > args.naive_once_above else int(args.repeats)


def run_step(args: argparse.Namespace) -> dict[str, Any]:
    if args.step == "prepare":
        return step_prepare(args.home, args.customers[0], args.days, args.generator)
    if args.step == "plain":
        return step_plain(args.url, args.as_of)
    if args.step == "naive":
        return step_naive(args.url, args.as_of)
    if args.step == "explain":
        return step_explain(args.home, args.as_of)
    if args.step == "profile":
        return step_profile(args.home, args.as_of)
    return step_imports()


if __name__ == "__main__":
    main()
