"""The numbered sections of the segment report: a heading, a caption, a chart and tables, one function each."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from segflow.data.attribute_names import feature_label
from segflow.modelling.segment_model import SegmentModel
from segflow.monitoring.report import figures, reads
from segflow.orchestration import runs
from segflow.settings import Settings
from segflow.storage.db import Database


@dataclass(frozen=True)
class Section:
    """One numbered part of the page: heading, caption (HTML), a chart (or None) and HTML after it."""

    heading: str
    caption: str
    figure: go.Figure | None = None
    after: str = ""


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def profile_table(table: pd.DataFrame, scores: pd.DataFrame, labels: dict[str, str]) -> str:
    """Segments' mean recency, frequency and monetary in their own units, and their mean scores, as HTML."""

    def cell(value: Any, pattern: str) -> str:
        return "<td></td>" if value is None or pd.isna(value) else f"<td>{format(value, pattern)}</td>"

    rows = []
    for row in table.itertuples(index=False):
        score = scores.loc[row.segment_key] if row.segment_key in scores.index else {}
        rows.append(
            f"<tr><th>{html.escape(labels[row.segment_key])}</th><td>{row.customers:,}</td><td>{row.share:.1%}</td>"
            + cell(row.mean_recency_days, ".1f")
            + cell(row.mean_frequency, ".2f")
            + cell(row.mean_monetary, ",.2f")
            + "".join(cell(score.get(c), ".2f") for c in ("mean_r_score", "mean_f_score", "mean_m_score"))
            + "</tr>"
        )
    head = (
        "<tr><th>segment</th><th>customers</th><th>share of all customers</th><th>mean recency (days)</th>"
        "<th>mean frequency (orders)</th><th>mean monetary</th><th>mean R score</th><th>mean F score</th>"
        "<th>mean M score</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def map_section(
    db: Database,
    settings: Settings,
    attempt_id: int,
    model: SegmentModel,
    labels: dict[str, str],
    colours: dict[str, str],
    clustered: int,
) -> Section:
    """The customer map of an attempt, or a note saying why there is none."""
    sample = reads.map_sample(db, settings, attempt_id)
    figure = figures.customer_map(model, sample, labels, colours)
    features = ", ".join(model.features)
    if figure is None:
        reason = (
            f"the model clusters on {features}, which the run's RFM sample does not hold (attribute-based model)"
            if any(f not in sample.columns for f in model.features)
            else f"only {len(sample)} clustered customer(s) with all of {features}"
        )
        return Section("Customers in model space", "", after=_note(f"The map is not available: {reason}."))
    logged = f"log1p of {', '.join(model.log_features)}, then " if model.log_features else ""
    drawn = sum(len(trace.x) for trace in figure.data[:-1])  # the last trace holds the centroids
    return Section(
        "Customers in model space",
        (
            f"A deterministic sample of {drawn:,} of the run's {clustered:,} clustered customers in the model's space "
            f"({features}; {logged}standardised), projected on its first two principal components (PCA). Diamonds are "
            "the segment centroids, projected the same way. Inactive and unscored customers have no place in model "
            "space and are left out."
        ),
        figure,
    )


def profile_section(db: Database, attempt_id: int, table: pd.DataFrame, labels: dict[str, str]) -> Section:
    """Mean R/F/M scores per segment as bars, and the segments' means in their own units as a table."""
    scores = reads.segment_scores(db, attempt_id)
    figure = figures.profile_figure(scores, labels)
    note = (
        ""
        if figure is not None
        else _note("No R/F/M scores in this run: its customers were clustered on attributes, not transactions.")
    )
    return Section(
        "Segment profiles",
        (
            "Mean R, F and M scores per segment: quintile scores 1-5 with the model's cut points (5 = most recent "
            "purchase, most orders, highest spend). The table gives the means in their own units."
        ),
        figure,
        note + profile_table(table, scores, labels),
    )


def attribute_map_section(
    db: Database,
    settings: Settings,
    attempt_id: int,
    model: SegmentModel,
    labels: dict[str, str],
    colours: dict[str, str],
    clustered: int,
) -> Section:
    """The customer map of an attempt whose model clusters on attributes, or a note saying why there is none."""
    sample = reads.feature_sample(db, settings, attempt_id, model.features, reads.MAP_POINTS)
    figure = figures.attribute_map(model, sample, labels, colours)
    features = ", ".join(model.features)
    if figure is None:
        return Section(
            "Customers and segment centroids",
            "",
            after=_note(f"The map is not available: only {len(sample)} clustered customer(s) with all of {features}."),
        )
    drawn = sum(len(trace.x) for trace in figure.data[:-1])  # the last trace holds the centroids
    where = (
        f"by the model's two features ({features}) in their own units"
        if len(model.features) == 2
        else f"projected on the first two principal components (PCA) of the model's space ({features}, standardised)"
    )
    return Section(
        "Customers and segment centroids",
        f"A deterministic sample of {drawn:,} of the run's {clustered:,} clustered customers, {where}. Diamonds are "
        "the segment centroids. Unscored customers (missing a model feature) have no place on the map.",
        figure,
    )


def attribute_profile_table(
    table: pd.DataFrame, means: pd.DataFrame, others: pd.DataFrame, labels: dict[str, str], actions: dict[str, str]
) -> str:
    """Segments' size, share, mean of each model feature and of the other numeric attributes, and action, as HTML.

    means: index segment key, a column per model feature; others: index segment key, a column per other attribute.
    """

    def cell(frame: pd.DataFrame, key: str, column: str) -> str:
        value = frame[column].get(key) if column in frame.columns else None
        return "<td></td>" if value is None or pd.isna(value) else f"<td>{value:,.1f}</td>"

    head = "<tr><th>segment</th><th>customers</th><th>share of all customers</th>" + "".join(
        f"<th>mean {html.escape(feature_label(c))}<br><small>{html.escape(c)}</small></th>" for c in means.columns
    )
    head += "".join(
        f'<th class="other">mean {html.escape(feature_label(c))}<br><small>{html.escape(c)}, not clustered on'
        "</small></th>"
        for c in others.columns
    )
    head += '<th class="action">action</th>'
    rows = []
    for row in table.itertuples(index=False):
        key = row.segment_key
        rows.append(
            f"<tr><th>{html.escape(labels[key])}</th><td>{row.customers:,}</td><td>{row.share:.1%}</td>"
            + "".join(cell(means, key, c) for c in means.columns)
            + "".join(cell(others, key, c) for c in others.columns)
            + f'<td class="action">{html.escape(actions.get(key, ""))}</td></tr>'
        )
    return f'<table class="attribute-profile">{head}</tr>{"".join(rows)}</table>'


def attribute_profile_section(
    db: Database, attempt_id: int, version: int, model: SegmentModel, table: pd.DataFrame, labels: dict[str, str]
) -> Section:
    """The segments' means of the model's features and of the other numeric attributes loaded, as a table."""
    means = runs.segment_feature_means(db, attempt_id, model.features)
    others = reads.other_attribute_means(db, attempt_id, model.features)
    actions = reads.segment_actions(db, version)
    return Section(
        "Segment profiles",
        "Each segment's customers and the mean of every feature the model clusters on, in the features' own units; "
        "the columns after them are the other numeric attributes loaded with the customers, which the model does "
        "not use but which help to tell the segments apart; then what to do with each segment.",
        after=attribute_profile_table(table, means, others, labels, actions),
    )


def actions_table(table: pd.DataFrame, labels: dict[str, str]) -> str:
    """Per segment: customers, share of customers, share of revenue and the suggested action, as HTML."""
    rows = []
    for row in table.itertuples(index=False):
        revenue = "" if row.revenue_share is None or pd.isna(row.revenue_share) else f"{row.revenue_share:.1%}"
        rows.append(
            f"<tr><th>{html.escape(labels[row.segment_key])}</th><td>{row.customers:,}</td><td>{row.share:.1%}</td>"
            f'<td>{revenue}</td><td class="action">{html.escape(row.action or "")}</td></tr>'
        )
    head = (
        "<tr><th>segment</th><th>customers</th><th>share of customers</th><th>share of revenue</th>"
        "<th>suggested action</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def actions_section(table: pd.DataFrame, labels: dict[str, str]) -> Section:
    """What each segment is worth and what to do with it: revenue share beside customer share, and the action."""
    no_revenue = table["revenue_share"].isna().all()
    caption = (
        "Share of revenue: the segment's monetary (revenue in the look-back window) over the whole run's, inactive "
        "and unscored customers included, so the column adds up to 100%. The action is the model's suggestion for "
        "the segment's profile."
    )
    after = actions_table(table, labels)
    if no_revenue:
        after = _note("No revenue in this run: its customers were clustered on attributes, not transactions.") + after
    return Section("What each segment is worth, and what to do", caption, after=after)


def selection_section(details: dict[str, Any]) -> Section:
    """The elbow and silhouette curves of the model's selection (details as from registry.details)."""
    candidates = details["candidates"]
    figure = figures.selection_figure(candidates, details["algorithm"], details["k"])
    has_wcss = any("wcss" in c.get("metrics", {}) for c in candidates)
    caption = (
        f"Candidates fitted when model v{details['version']} was trained (as of {details['as_of']}, on "
        f"{details['sample_size']:,} customers). <strong>Chosen: {html.escape(details['algorithm'])} with "
        f"k={details['k']}</strong> (star). Crosses failed a quality gate (hover for the reason). "
        + (
            "WCSS is measured in model space on the whole training sample; look for the bend (elbow). "
            if has_wcss
            else "This model was trained before WCSS was recorded: silhouette only. "
        )
        + "Silhouette is on up to 4,000 customers, finalists on the whole evaluation sample."
    )
    after = "" if figure is not None else _note("No candidate metrics were recorded for this model.")
    return Section("How the model was chosen", caption, figure, after)


def moves_section(db: Database, run_id: int) -> Section:
    """The transition heatmap into a run from the published run before it."""
    rows = reads.transitions_into(db, run_id)
    if not rows:
        return Section("Moves between segments", "No earlier published run: nothing to compare with.")
    changed = (
        f" The model changed between the runs: run {rows[0][0]}'s customers are shown as model v{rows[0][7]} "
        "(this run's) scores them, so every move is a customer's own."
        if rows[0][7] is not None
        else ""
    )
    return Section(
        "Moves between segments",
        (
            f"Customers per segment in run {rows[0][0]} (rows) and in this run (columns); shading is the share of the "
            "row, 'new_customer' had no row in the earlier run." + changed
        ),
        figures.transitions_figure(rows),
    )
