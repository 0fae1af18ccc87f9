"""Where the SQL files are, and their text: every statement segflow runs lives under sql/."""

from __future__ import annotations

from functools import cache
from pathlib import Path


def sql_dir() -> Path:
    """Folder of the SQL files: the repository's sql/, shipped in wheels as segflow/sql."""
    # parents[1] is segflow/ (this module is segflow/storage/sqlfiles.py), parents[2] the checkout
    packaged = Path(__file__).resolve().parents[1] / "sql"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "sql"


@cache
def read_sql(name: str) -> str:
    """Text of sql/<name>.sql (name may include a subfolder, e.g. 'queries/table_counts')."""
    return (sql_dir() / f"{name}.sql").read_text(encoding="utf-8")
