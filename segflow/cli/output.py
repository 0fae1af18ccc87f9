"""What the commands share: consoles, settings and database, tables, formatting, progress bars."""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from importlib.util import find_spec

import typer
from rich.console import Console, JustifyMethod
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from segflow.cli.errors import OptionInvalid
from segflow.settings import Settings
from segflow.storage import migrations, private_files
from segflow.storage.db import Database

# Off a terminal (pipes, CI logs) rich would wrap tables at 80 columns; wide output stays readable.
console = Console() if sys.stdout.isatty() else Console(width=160)
err_console = Console(stderr=True)


def load_settings() -> Settings:
    return Settings()


def database(settings: Settings | None = None) -> Database:
    """The configured database with every pending migration applied."""
    settings = settings or load_settings()
    private_files.make_home_private(settings)
    db = Database(settings)
    migrations.ensure_migrated(db)
    return db


def print_run(db: Database, attempt_id: int) -> None:
    from segflow.orchestration import runs

    info = runs.run_summary(db, attempt_id)
    as_of, version, run_id = info["as_of"], info["model_version"], info["run_id"]
    print_segment_table(db, attempt_id, f"segments of run {run_id}, as of {as_of} (model v{version})")
    console.print(f"{info['customers_known']:,} customers; {info['outcome']}", highlight=False, soft_wrap=True)
    console.print(f"why: {info['retrain_reason']}", highlight=False, soft_wrap=True)
    names = runs.names_line(info)
    if names:
        console.print(names, highlight=False, soft_wrap=True)
    if info["batch_changes"]:
        changes = "; ".join(
            f"batch {c['batch_id']} {c['change']} ({c['name']}, {c['lines']:,} lines)" for c in info["batch_changes"]
        )
        console.print(f"data changed since the last published run: {changes}", highlight=False, soft_wrap=True)
    current = runs.current_run(db)
    if current and current[0] == attempt_id:
        console.print(f"published: segflow.current_segments now shows run {run_id} (as of {as_of})")
    elif current:
        console.print(
            f"published run {run_id} (as of {as_of}) to the history; segflow.current_segments keeps showing "
            f"run {current[1]} (as of {current[2]}), the latest date",
            highlight=False,
            soft_wrap=True,
        )


def print_segment_table(db: Database, attempt_id: int, title: str) -> None:
    from segflow.data.features import RFM_FEATURES
    from segflow.orchestration import runs

    features = runs.run_info(db, attempt_id).features
    if any(f not in RFM_FEATURES for f in features):
        print_attribute_segment_table(db, attempt_id, title, features)
        return
    table = Table(title=title)
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("key", "left"),
        ("segment", "left"),
        ("customers", "right"),
        ("share of all customers", "right"),
        ("revenue share", "right"),
        ("mean recency (days)", "right"),
        ("mean frequency", "right"),
        ("mean monetary", "right"),
        ("action", "left"),
    )
    for column, justify in columns:
        table.add_column(column, justify=justify)
    for row in runs.segment_table(db, attempt_id).itertuples(index=False):
        table.add_row(
            row.segment_key,
            row.segment_name,
            f"{row.customers:,}",
            f"{row.share:.1%}",
            fmt(row.revenue_share, ".1%"),
            fmt(row.mean_recency_days, ".1f"),
            fmt(row.mean_frequency, ".2f"),
            fmt(row.mean_monetary, ",.2f"),
            row.action,
        )
    console.print(table)


def print_attribute_segment_table(db: Database, attempt_id: int, title: str, features: list[str]) -> None:
    """The segments of a run on customer attributes: size, share and the mean of each feature (no R/F/M)."""
    from segflow.data.attribute_names import feature_label
    from segflow.orchestration import runs

    table = Table(title=title)
    for column in ("key", "segment"):
        table.add_column(column)
    for column in ("customers", "share of all customers", *(f"mean {feature_label(f)}" for f in features)):
        table.add_column(column, justify="right")
    means = runs.segment_feature_means(db, attempt_id, features)
    for row in runs.segment_table(db, attempt_id).itertuples(index=False):
        values = means.loc[row.segment_key] if row.segment_key in means.index else {}
        cells = [fmt(values.get(f), ",.1f") for f in features]
        table.add_row(row.segment_key, row.segment_name, f"{row.customers:,}", f"{row.share:.1%}", *cells)
    console.print(table)


def fmt(value: float | None, pattern: str) -> str:
    return "" if value is None or value != value else format(value, pattern)


def value_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.3f}"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def is_loopback(host: str) -> bool:
    """Whether an address to listen on is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# What each install extra brings that segflow imports (pyproject.toml's [project.optional-dependencies]).
EXTRA_MODULES = {
    "ui": ("streamlit",),
    "api": ("uvicorn", "python_multipart", "swagger_ui_bundle"),
    "dask": ("prefect_dask", "dask", "distributed"),
    "mlflow": ("mlflow",),
}


def require_extra(extra: str, needed_by: str) -> None:
    """Exit 2 with one line naming the install extra when a module of it is missing (found without importing)."""
    missing = [module for module in EXTRA_MODULES[extra] if find_spec(module) is None]
    if missing:
        err_console.print(
            f"[bold red]error:[/] {needed_by} needs segflow's {extra} extra ({', '.join(missing)} is not installed): "
            # Escaped: rich would read [ui] as a style.
            + escape(f"pip install 'segflow[{extra}]'"),
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(2)


def parse_date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise OptionInvalid(option, text, "a date of the form YYYY-MM-DD") from None


class byte_progress:  # lowercase: used as a context manager, reads like a function
    """A byte-count progress bar on a terminal; silent otherwise."""

    def __init__(self, label: str) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=err_console,
            transient=True,
            disable=not err_console.is_terminal,
        )
        self.task = self.progress.add_task(label, total=None)

    def __enter__(self) -> Callable[[int, int], None]:
        self.progress.start()
        return lambda done, total: self.progress.update(self.task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


class chunk_progress(byte_progress):
    def __init__(self, label: str) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} chunks"),
            console=err_console,
            transient=True,
            disable=not err_console.is_terminal,
        )
        self.task = self.progress.add_task(label, total=None)
