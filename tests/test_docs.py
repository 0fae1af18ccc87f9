"""README.md and docs/*.md say only what is true: every `segflow ...` command and option they write exists in the
CLI, and every relative link (a file, an image, a `#heading` as GitHub slugs it) resolves.

The checks read the Markdown as a reader sees it: commands in code blocks and in inline code, links outside code.
Each check is first shown to fail on a small made-up text, so a pass over the real pages means something."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^(```|~~~)")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
# `segflow` in a shell line's command position: first on the line (after `VAR=value` assignments), or after
# `$(`, `&&`, `|` or `;`. Elsewhere (a layout tree, a program's output) the word is prose.
COMMAND_START = re.compile(r"(?:^\s*(?:[A-Za-z_]\w*=\S+\s+)*|\$\(|&&\s*|\|\s*|;\s*)segflow (?=\S)")
# A `$(...)` that is not itself a segflow command stands for a value (`--from $(date -u +%F)`).
OTHER_SUBSTITUTION = re.compile(r"\$\((?!segflow )[^()]*\)")
# Where a command written in a shell line ends: a comment, a pipe, `&&`, `;`, `)` of `$(...)`, a background `&`.
COMMAND_END = re.compile(r"\s#|\||&&|;|\)|\s&(?:\s|$)")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


@dataclass(frozen=True)
class Written:
    """A command, option or link as a page writes it, with where (for the failure message)."""

    text: str
    where: str


def code_and_prose(markdown: str) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The page's lines split into code-block lines and prose lines, each with its line number."""
    code, prose, fenced = [], [], False
    for number, line in enumerate(markdown.splitlines(), start=1):
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        (code if fenced else prose).append((number, line))
    return code, prose


def shell_lines(code: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Code-block lines with `\\` continuations joined, and a console's `$ ` prompt dropped."""
    joined: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, line in code:
        if pending is not None:
            number, line = pending[0], pending[1] + " " + line.strip()
        if line.rstrip().endswith("\\"):
            pending = (number, line.rstrip()[:-1])
            continue
        pending = None
        joined.append((number, re.sub(r"^\s*\$ ", "", line)))
    if pending is not None:
        joined.append(pending)
    return joined


def written_commands(markdown: str, page: str = "page") -> list[Written]:
    """Every `segflow ...` command the page writes: in code blocks (up to a comment, pipe or `&&`) and in inline
    code (the whole span)."""
    code, prose = code_and_prose(markdown)
    found = []
    for number, line in shell_lines(code):
        line = OTHER_SUBSTITUTION.sub("VALUE", re.split(r"(?:^|\s)#", line, maxsplit=1)[0])
        for start in COMMAND_START.finditer(line):
            rest = line[start.end() :]
            end = COMMAND_END.search(rest)
            command = "segflow " + (rest[: end.start()] if end else rest)
            found.append(Written(" ".join(command.split()), f"{page}:{number}"))
    for number, line in prose:
        for span in INLINE_CODE.finditer(line):
            text = span.group(2).strip()
            if text.startswith("segflow "):
                found.append(Written(" ".join(text.split()), f"{page}:{number}"))
    return found


def words_of(command: str) -> list[str]:
    """A written command's words: shell quoting undone, optional parts' brackets dropped, `--opt=value` split."""
    try:
        words = shlex.split(command, comments=False)
    except ValueError:  # an unbalanced quote in prose: fall back to spaces
        words = command.split()
    cleaned = []
    for word in words:
        word = word.strip("[]")
        if word.startswith("-") and "=" in word:
            word = word.split("=", 1)[0]
        if word:
            cleaned.append(word)
    return cleaned


def command_problem(cli: Any, command: str) -> str | None:
    """Why a written `segflow ...` command does not exist in the CLI, or None when it does. `cli` is the click
    command Typer builds (Typer vendors its own click, so groups are told apart by their `commands`)."""
    words = words_of(command)[1:]
    path, current = ["segflow"], cli
    while words and hasattr(current, "commands") and not words[0].startswith("-"):
        name = words.pop(0)
        sub = current.commands.get(name)
        if sub is None:
            if any(p.param_type_name == "argument" for p in current.params):
                words.insert(0, name)
                break
            return f"`{' '.join(path)}` has no command {name!r}"
        path.append(name)
        current = sub
    options = {opt for param in current.params for opt in (*param.opts, *param.secondary_opts)} | {"--help"}
    for word in words:
        if re.fullmatch(r"--?[A-Za-z][\w-]*", word) and word not in options:
            return f"`{' '.join(path)}` has no option {word}"
    return None


# Options of other tools that the pages write on their own in inline code, with the tool they belong to.
OTHER_TOOLS_OPTIONS = {"--param": "prefect deployment run"}


def written_options(markdown: str, page: str = "page") -> list[Written]:
    """Options written on their own in inline code (`--as-of`, `--map target=source,...`), outside a command."""
    _, prose = code_and_prose(markdown)
    found = []
    for number, line in prose:
        for span in INLINE_CODE.finditer(line):
            match = re.match(r"(--[a-z][\w-]*)", span.group(2).strip())
            if match:
                found.append(Written(match.group(1), f"{page}:{number}"))
    return found


def every_option(cli: Any) -> set[str]:
    """Every option of every segflow command and group."""
    options = {opt for param in cli.params for opt in (*param.opts, *param.secondary_opts)}
    for sub in getattr(cli, "commands", {}).values():
        options |= every_option(sub)
    return options


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: markup dropped, lower case, punctuation removed, spaces to dashes."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors_of(markdown: str) -> set[str]:
    """Every heading anchor of a page, numbered as GitHub numbers repeats (`name`, `name-1`, ...)."""
    _, prose = code_and_prose(markdown)
    seen: dict[str, int] = {}
    anchors = set()
    for _, line in prose:
        match = HEADING.match(line)
        if not match:
            continue
        slug = github_slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def written_links(markdown: str, page: str = "page") -> list[Written]:
    """Every link and image target written outside code."""
    _, prose = code_and_prose(markdown)
    found = []
    for number, line in prose:
        outside_code = INLINE_CODE.sub("", line)
        for link in LINK.finditer(outside_code):
            found.append(Written(link.group(1), f"{page}:{number}"))
    return found


def link_problem(page: Path, target: str) -> str | None:
    """Why a link written on a page does not resolve, or None when it does (web addresses are not followed)."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", target):
        return None
    path_part, _, anchor = target.partition("#")
    file = (page.parent / path_part).resolve() if path_part else page
    if not file.exists():
        return f"{target}: no file {file.relative_to(ROOT) if file.is_relative_to(ROOT) else file}"
    if anchor and file.suffix == ".md" and anchor not in anchors_of(file.read_text()):
        return f"{target}: no heading #{anchor} in {file.name}"
    return None


@pytest.fixture(scope="module")
def cli() -> Any:
    from segflow.cli import app

    return typer.main.get_command(app)


# --- the checks, proved on made-up text ------------------------------------------------------------------------


def test_commands_are_found_in_code_blocks_and_inline_code_only():
    page = (
        "segflow is a tool; run `segflow db status` or `segflow.runs`.\n"
        "```bash\n"
        "segflow run --as-of 2010-12-09   # one run, now (segflow drift in a comment is not read)\n"
        'psql "$(segflow db url | tail -1)" -c x\n'
        "$ segflow backfill --from 2010-01-03 \\\n"
        "    --to 2010-12-05\n"
        "export A=1 && segflow prefect start &\n"
        "segflow backfill --from $(date -u -d yesterday +%F) --every week\n"
        "flows/    wiring only, one segflow call per task\n"
        "```\n"
    )
    assert [w.text for w in written_commands(page)] == [
        "segflow run --as-of 2010-12-09",
        "segflow db url",
        "segflow backfill --from 2010-01-03 --to 2010-12-05",
        "segflow prefect start",
        "segflow backfill --from VALUE --every week",
        "segflow db status",
    ]


def test_a_made_up_command_or_option_is_named(cli):
    assert command_problem(cli, "segflow db status") is None
    assert command_problem(cli, "segflow run --as-of 2010-12-09 --features=recency_days,frequency") is None
    assert command_problem(cli, "segflow models show [VERSION] [--json]") is None
    assert command_problem(cli, "segflow batches remove 3") is None
    assert command_problem(cli, "segflow load FILE --date-format '%d/%m/%Y %H:%M'") is None
    assert command_problem(cli, "segflow db statuz") == "`segflow db` has no command 'statuz'"
    assert command_problem(cli, "segflow frobnicate") == "`segflow` has no command 'frobnicate'"
    assert command_problem(cli, "segflow run --as-off 2010-12-09") == "`segflow run` has no option --as-off"
    # an option of another command is not enough
    assert command_problem(cli, "segflow db status --as-of 2010-12-09") == "`segflow db status` has no option --as-of"


def test_an_option_written_alone_must_be_some_commands_option(cli):
    page = "Pass `--allow-stale-source`, `--map target=source,...` or `--param as_of` (Prefect's), not `--as-off`."
    options = written_options(page)
    assert [o.text for o in options] == ["--allow-stale-source", "--map", "--param", "--as-off"]
    known = every_option(cli) | set(OTHER_TOOLS_OPTIONS)
    assert [o.text for o in options if o.text not in known] == ["--as-off"]


def test_github_slugs_headings_as_github_does():
    assert github_slug("The app: segflow ui") == "the-app-segflow-ui"
    assert github_slug("Past one machine: partitions on Dask") == "past-one-machine-partitions-on-dask"
    assert github_slug("Production habits: one run per database, a time limit, a failure notice") == (
        "production-habits-one-run-per-database-a-time-limit-a-failure-notice"
    )
    assert github_slug("The database at 100M customers: Citus by `customer_id`") == (
        "the-database-at-100m-customers-citus-by-customer_id"
    )
    assert anchors_of("# A\n## Tests\n```\n# not a heading\n```\n## Tests\n") == {"a", "tests", "tests-1"}


def test_a_made_up_link_file_or_anchor_is_named(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "shot.png").write_bytes(b"")
    (tmp_path / "docs" / "other.md").write_text("# Other\n## The schedule\n")
    page = tmp_path / "README.md"
    page.write_text("## Quick start\n")
    text = (
        "See [the schedule](docs/other.md#the-schedule), ![a shot](docs/shot.png), [up](#quick-start), "
        "[web](https://example.com/x#y) and `[not a link](nowhere.md)`.\n"
        "[gone](docs/missing.md) [wrong](docs/other.md#the-schedules) [self](#quick) ![](docs/none.png)\n"
    )
    problems = [link_problem(page, link.text) for link in written_links(text)]
    assert problems[:4] == [None, None, None, None]
    assert len(problems) == 8
    assert problems[4].startswith("docs/missing.md: no file")
    assert problems[5] == "docs/other.md#the-schedules: no heading #the-schedules in other.md"
    assert problems[6] == "#quick: no heading #quick in README.md"
    assert problems[7].startswith("docs/none.png: no file")


# --- the real pages --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_segflow_command_written_exists(cli, page):
    commands = written_commands(page.read_text(), str(page.relative_to(ROOT)))
    problems = [f"{c.where}: {problem}" for c in commands if (problem := command_problem(cli, c.text))]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    links = written_links(page.read_text(), str(page.relative_to(ROOT)))
    problems = [f"{link.where}: {problem}" for link in links if (problem := link_problem(page, link.text))]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_option_written_alone_exists(cli, page):
    known = every_option(cli) | set(OTHER_TOOLS_OPTIONS)
    options = written_options(page.read_text(), str(page.relative_to(ROOT)))
    problems = [f"{o.where}: no segflow command has the option {o.text}" for o in options if o.text not in known]
    assert not problems, "\n".join(problems)


def test_the_pages_write_commands_and_links_at_all():
    # A parser that silently found nothing would pass every check above.
    text = "\n".join(page.read_text() for page in PAGES)
    assert len(written_commands(text)) >= 100
    assert len(written_options(text)) >= 20
    assert len(written_links(text)) >= 20


def test_the_readme_stays_short():
    # Issue 24: the README is the way in (purpose, quick start, surfaces, where to change what, layout); everything
    # longer belongs on a docs page by reader.
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; move the detail to a page in docs/"


def test_every_screenshot_is_shown_on_some_page():
    shown = {
        (page.parent / link.text.partition("#")[0]).resolve()
        for page in PAGES
        for link in written_links(page.read_text())
    }
    unshown = sorted(p.name for p in (ROOT / "docs" / "screenshots").glob("*.png") if p.resolve() not in shown)
    assert not unshown, f"screenshots no page links: {unshown}"
