"""What a flow task or CLI command needs to start work: settings from the environment and a migrated database."""

from __future__ import annotations

from datetime import UTC, date, datetime

from segflow.settings import Settings
from segflow.storage import migrations, private_files
from segflow.storage.db import Database


def open_database(settings: Settings | None = None) -> tuple[Settings, Database]:
    """Settings (from SEGFLOW_* and .env) and the database with pending migrations applied."""
    settings = settings or Settings()
    private_files.make_home_private(settings)
    db = Database(settings)
    migrations.ensure_migrated(db)
    return settings, db


def as_of_for(scheduled: datetime | None, requested: date | None) -> date:
    """The as-of date of a run: the one asked for, else the scheduled date (UTC), else today (UTC)."""
    if requested is not None:
        return requested
    if scheduled is not None:
        return scheduled.date() if scheduled.tzinfo is None else scheduled.astimezone(UTC).date()
    return datetime.now(UTC).date()


def run_name(as_of: date, retrain: str, rebuild_aggregates: bool = False) -> str:
    """A flow run's name: its as-of date and mode, e.g. 2010-12-09-auto or 2010-12-05-always-rebuild."""
    return f"{as_of}-{retrain}" + ("-rebuild" if rebuild_aggregates else "")
