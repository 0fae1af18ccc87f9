"""The layout trees (the README's packages, docs/development.md's every module) match the repository."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def layout_entries(page: str = "README.md") -> list[str]:
    text = (ROOT / page).read_text()
    block = text.split("<!-- layout", 1)[1].split("```", 2)[1]
    entries, parents = [], []
    for line in block.splitlines():
        if not line.strip():
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        name = line.split()[0]
        parents = [*parents[:depth], name]
        entries.append("".join(parents))
    return entries


@pytest.mark.parametrize("page", ["README.md", "docs/development.md"])
def test_every_path_in_the_layout_exists(page):
    missing = [entry for entry in layout_entries(page) if not (ROOT / entry).exists()]
    assert not missing, f"{page}'s layout lists paths that do not exist: {missing}"


def test_every_package_is_in_the_readme_and_every_module_in_the_development_page():
    packages = {
        f"{p.parent.relative_to(ROOT)}/" for p in (ROOT / "segflow").glob("*/__init__.py") if p.parent.name != "sql"
    }
    assert packages <= set(layout_entries()), (
        f"packages missing from the README layout: {packages - set(layout_entries())}"
    )
    listed = set(layout_entries("docs/development.md"))
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "segflow").rglob("*.py") if not p.name.startswith("__")}
    assert modules <= listed, f"modules missing from docs/development.md's layout: {sorted(modules - listed)}"


def test_every_top_level_entry_is_in_the_readme_layout():
    listed = set(layout_entries())
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()

    def top_level(path: str) -> str:
        return path.split("/")[0] + ("/" if "/" in path else "")

    top = {top_level(path) for path in tracked} - {"README.md", ".gitignore"}
    listed_top = {top_level(entry) for entry in listed}
    assert top <= listed_top, f"top-level entries missing from the README layout: {sorted(top - listed_top)}"


def test_every_path_in_the_where_to_change_what_table_exists():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("<!-- where", 1)[1].split("\n## ", 1)[0]
    paths = [p for row in table.splitlines() for p in re.findall(r"`([a-z_./]+/[a-z_./]*)`", row)]
    assert len(paths) >= 10
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert not missing, f"the README's where-to-change-what table names paths that do not exist: {missing}"


def test_every_package_and_sql_folder_goes_into_the_wheel():
    # `pip install .` (the Docker image) installs only the packages pyproject.toml lists: a folder left out is a
    # command or a SQL file missing in production while editable installs (and the other tests) still work.
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    declared = set(config["packages"])
    modules = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in ROOT.glob("segflow/**/*.py")
        if "__pycache__" not in path.parts
    }
    sql_folders = {
        ".".join(("segflow", *path.parent.relative_to(ROOT).parts))
        for path in (ROOT / "sql").glob("*/*.sql")
        if path.parent.parent == ROOT / "sql"
    }
    assert sorted((modules | sql_folders) - declared) == []
    data = config["package-data"]
    assert sorted(f for f in sql_folders if f != "segflow.sql.queries" and f not in data) == []
