"""The segment report of a published run: one self-contained HTML page (plotly.js embedded, so it works offline).

It shows a 2-D map of customers in model space, segment sizes, R/F/M profiles, the elbow and silhouette curves of
model selection, the moves between segments since the previous run, and links to the run's drift reports. This
module assembles the page from segflow.monitoring.report.sections and writes it atomically.
"""

from __future__ import annotations

import html
import logging
import os
import tempfile
from datetime import UTC
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from segflow.data.features import RFM_FEATURES
from segflow.modelling import registry
from segflow.monitoring.drift_page import segment_label
from segflow.monitoring.drift_report import report_path
from segflow.monitoring.report import figures, reads, sections
from segflow.monitoring.report.sections import Section
from segflow.monitoring.transitions import transitions_path
from segflow.monitoring.verdict import figures_text, stored_verdict_text, verdict_word
from segflow.orchestration import runs
from segflow.settings import Settings
from segflow.storage.db import Database

log = logging.getLogger(__name__)

PLOT_CONFIG = {"displaylogo": False, "responsive": True}


def segment_report_path(settings: Settings, run_id: int) -> Path:
    """Stable, absolute path of a run's segment report (a rebuild overwrites it)."""
    return (settings.report_path / "segments" / f"run-{run_id}.html").resolve()


def drift_links(db: Database, settings: Settings, run_id: int, page: Path) -> list[str]:
    """HTML list items linking the run's drift reports and transitions page that exist, relative to the page."""
    verdicts = reads.drift_reports_by_reference(db, run_id)
    items = []
    for reference in ("previous", "training"):
        target = report_path(settings, run_id, reference).resolve()
        if not target.exists():
            continue
        row = verdicts.get(reference)
        against = (
            f"the previous run (run {row[3]})"
            if row and reference == "previous"
            else (f"the training data of model v{row[4]}" if row else f"the {reference} reference")
        )
        verdict = _verdict_html(row) if row else ""
        items.append(f'<li><a href="{_href(target, page)}">drift against {against}</a>{verdict}</li>')
    transitions = transitions_path(settings, run_id).resolve()
    if transitions.exists():
        items.append(f'<li><a href="{_href(transitions, page)}">segment transitions as a table</a></li>')
    return items


def _verdict_html(row: tuple[Any, ...]) -> str:
    """': <strong>drifted</strong>, inactive 0.0 % → 33.3 %, segment PSI ...': the verdict segflow.monitoring.verdict
    stored (it names a risen inactive share first); reports stored before it was kept get the figures alone."""
    word = verdict_word(row[5])
    shown = f"<strong>{word}</strong>" if row[5] else word
    return f": {shown}, " + html.escape(stored_verdict_text(row[10] or {}) or figures_text(row[7], row[6]))


def _href(target: Path, page: Path) -> str:
    # Relative, so the reports folder can be copied or served elsewhere and the links still work.
    return html.escape(Path(os.path.relpath(target, page.parent)).as_posix(), quote=True)


def _figure_html(figure: go.Figure, div_id: str, first: bool) -> str:
    # plotly.js goes into the page once, with the first figure: no CDN, the page works offline.
    return figure.to_html(full_html=False, include_plotlyjs=first, div_id=div_id, config=PLOT_CONFIG)


def render_page(title: str, facts: list[tuple[str, str]], links: list[str], sections: list[Section]) -> str:
    """The page: a header of facts (values are HTML) and drift links, then the numbered sections."""
    parts, first = [], True
    for number, section in enumerate(sections, start=1):
        body = ""
        if section.figure is not None:
            body = _figure_html(section.figure, f"figure-{number}", first)
            first = False
        caption = f"<p>{section.caption}</p>" if section.caption else ""
        parts.append(
            f"<section><h2>{number}. {html.escape(section.heading)}</h2>{caption}{body}{section.after}</section>"
        )
    fact_rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{v}</td></tr>" for k, v in facts)
    link_list = f"<ul>{''.join(links)}</ul>" if links else "<p>No drift report for this run yet.</p>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1300px; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0; }}
th, td {{ border: 1px solid #ddd; padding: 4px 10px; text-align: right; }}
th {{ background: #f5f5f5; text-align: left; }}
section {{ margin-top: 2.5em; }} td.action {{ text-align: left; max-width: 28em; }}
p {{ max-width: 60em; }} .note {{ color: #8a5300; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<table>{fact_rows}</table>
<h3>Drift</h3>{link_list}
{"".join(parts)}
</body></html>
"""


def build_segment_report(db: Database, settings: Settings, run_id: int | None = None) -> Path:
    """Write the segment report of a published run (default: the one BI reads now); its absolute path."""
    run = runs.published_run(db, run_id)
    dropped = runs.rows_dropped(db, run["attempt_id"])
    if dropped is not None:
        raise dropped
    page = segment_report_path(settings, run["run_id"])
    table = runs.segment_table(db, run["attempt_id"])
    labels = {k: segment_label(k, n) for k, n in zip(table["segment_key"], table["segment_name"], strict=True)}
    colours = figures.segment_colours(list(table["segment_key"]))
    clustered = int(table.loc[~table["segment_key"].isin(figures.RULE_COLOURS), "customers"].sum())
    model, details = registry.load(db, run["model_version"]), registry.details(db, run["model_version"])
    # A model on customer attributes gets its map in the features' own units and a profile of their means; R/F/M
    # score bars only when it also clusters on transactions.
    attribute_model = figures.uses_attributes(model)
    draw_map = sections.attribute_map_section if attribute_model else sections.map_section
    profiles = []
    if attribute_model:
        profiles.append(
            sections.attribute_profile_section(db, run["attempt_id"], run["model_version"], model, table, labels)
        )
    if set(model.features) & set(RFM_FEATURES):
        profiles.append(sections.profile_section(db, run["attempt_id"], table, labels))
    parts = [
        draw_map(db, settings, run["attempt_id"], model, labels, colours, clustered),
        sections.Section(
            "Segment sizes",
            "Customers per segment, with each segment's share of the run's customers "
            "(inactive: no purchase in the look-back window; unscored: missing a model feature; returned_all: returns "
            "cancel the purchases; other lower-case keys such as lost: customers whose own R/F/M scores contradicted "
            "their cluster's name, named by them).",
            figures.sizes_figure(table, labels, colours),
        ),
        sections.actions_section(table, labels),
        *profiles,
        sections.selection_section(details),
        sections.moves_section(db, run["run_id"]),
    ]
    run_id, as_of, version = run["run_id"], run["as_of"], run["model_version"]
    published = run["published_at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    facts = [
        ("run", str(run_id)),
        ("as of", str(as_of)),
        ("model", f"v{version} ({html.escape(details['algorithm'])} with k={details['k']})"),
        ("customers", f"{run['customers_known'] or 0:,} ({clustered:,} clustered)"),
        ("published", published),
    ]
    names = runs.names_line(runs.run_summary(db, run["attempt_id"]))
    if names:
        facts.append(("names", html.escape(names.removeprefix("names: "))))
    text = render_page(
        f"Segments of run {run_id}, as of {as_of}", facts, drift_links(db, settings, run["run_id"], page), parts
    )
    page.parent.mkdir(parents=True, exist_ok=True)
    # A temporary file of its own (the flow and `segflow report` may build the same page at once), renamed
    # into place: a browser never opens half a page.
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=page.parent, suffix=".tmp", delete=False) as out:
        out.write(text)
    os.chmod(out.name, 0o644)  # readable like the drift reports beside it, not 0600 as temporary files are
    os.replace(out.name, page)
    log.info("segment report of run %d: %s", run["run_id"], page)
    return page


def build_attempt_report(db: Database, settings: Settings, attempt_id: int) -> Path:
    """Write the segment report of the run an attempt belongs to (for the flow, which knows the attempt).

    The published run after it, whose moves now come from this run, gets its page rebuilt too when it has one.
    """
    path = build_segment_report(db, settings, runs.run_summary(db, attempt_id)["run_id"])
    rows = db.run("queries/runs/published_neighbours", {"attempt_id": attempt_id})
    next_run, next_attempt = (rows[0][3], rows[0][4]) if rows else (None, None)
    if (
        next_run is not None
        and next_attempt is not None
        and segment_report_path(settings, next_run).exists()
        and runs.rows_dropped(db, next_attempt) is None  # retention dropped its customers: its page stays as it is
    ):
        build_segment_report(db, settings, next_run)
    return path
