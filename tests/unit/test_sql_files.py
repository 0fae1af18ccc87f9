"""Every SQL file is runnable as segflow runs it: parameters are always bound, so % must be doubled."""

import re

import pytest

from segflow.sqlfiles import sql_dir

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
