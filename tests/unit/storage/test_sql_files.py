"""Every SQL file is runnable as segflow runs it: parameters are always bound, so % must be doubled."""

import re

import pytest

from segflow.storage.sqlfiles import sql_dir

FILES = sorted(p for p in sql_dir().rglob("*.sql") if p.parent.name != "migrations" and p.name != "ledger.sql")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_percent_signs_are_parameters_or_doubled(path):
    text = path.read_text()
    stray = re.findall(r"(?<!%)%(?![(%])", text.replace("%%", ""))
    assert not stray, f"{path.name} has a lone % (write %% for a literal percent sign)"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_keywords_are_lowercase(path):
    code = "\n".join(line.split("--", 1)[0] for line in path.read_text().splitlines())
    shouting = re.findall(r"\b(SELECT|FROM|WHERE|INSERT|UPDATE|DELETE|GROUP BY|ORDER BY|WITH)\b", code)
    assert not shouting, f"{path.name} uses upper-case keywords {shouting}"


def _named_in_code() -> set[str]:
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    sources = [p for folder in ("segflow", "flows") for p in (root / folder).rglob("*.py")]
    return {m for p in sources for m in re.findall(r'"(queries/[a-z0-9_/]+)"', p.read_text())}


def test_every_query_the_code_names_exists_and_every_query_file_is_used():
    named = _named_in_code()
    files = {str(p.relative_to(sql_dir()).with_suffix("")) for p in (sql_dir() / "queries").rglob("*.sql")}
    assert not named - files, f"queries named in code without a file: {sorted(named - files)}"
    assert not files - named, f"query files no code runs: {sorted(files - named)}"


def test_queries_live_in_a_folder_named_for_their_owner():
    assert not list((sql_dir() / "queries").glob("*.sql")), "a query belongs in queries/<owner>/"
    publish = sorted(p.stem for p in (sql_dir() / "queries" / "publish").glob("*.sql"))
    from segflow.stages.publish import PUBLISH_STEPS

    assert [f"queries/publish/{name}" for name in publish] == list(PUBLISH_STEPS)  # named in execution order
