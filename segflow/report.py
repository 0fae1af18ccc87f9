"""The segment report of a published run: one self-contained HTML page (plotly.js embedded, so it works offline).

It shows a 2-D map of customers in model space, segment sizes, R/F/M profiles, the elbow and silhouette curves of
model selection, the moves between segments since the previous run, and links to the run's drift reports.
"""

from __future__ import annotations

import html
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots
from psycopg2 import sql
from sklearn.decomposition import PCA

from segflow import drift, registry, runs
from segflow.attribute_names import feature_label, feature_title
from segflow.db import Database, run_composed_named
from segflow.drift_page import segment_label
from segflow.features import RFM_FEATURES, feature_value
from segflow.modelling.segment_model import SegmentModel
from segflow.segments import INACTIVE, RULE_SEGMENTS, UNSCORED, segment_key_order
from segflow.settings import Settings

log = logging.getLogger(__name__)

MAP_POINTS = 5_000  # customers on the map: enough to see the shapes, few enough for an SVG plot
RULE_COLOURS = {INACTIVE[0]: "#9e9e9e", UNSCORED[0]: "#d0d0d0"}
# 19 distinct colours without grey (kept for rule segments); more segments than that reuse them.
PALETTE = [c for c in qualitative.D3 + qualitative.Plotly if c.lower() != "#7f7f7f"]
ALGORITHM_COLOURS = dict(
    zip(
        ("kmeans", "minibatch_kmeans", "gaussian_mixture", "agglomerative_ward", "dbscan"),
        qualitative.Set2,
        strict=False,
    )
)
PLOT_CONFIG = {"displaylogo": False, "responsive": True}


def segment_report_path(settings: Settings, run_id: int) -> Path:
    """Stable, absolute path of a run's segment report (a rebuild overwrites it)."""
    return (settings.report_path / "segments" / f"run-{run_id}.html").resolve()


def segment_colours(keys: list[str]) -> dict[str, str]:
    """A colour per segment key, the same in every chart; rule segments in greys."""
    clustered = [k for k in keys if k not in RULE_COLOURS]
    colours = {key: PALETTE[i % len(PALETTE)] for i, key in enumerate(clustered)}
    return colours | {k: RULE_COLOURS[k] for k in keys if k in RULE_COLOURS}


def centroid_markers(
    x: Any, y: Any, keys: list[str], labels: dict[str, str], colours: dict[str, str], where: str
) -> go.Scatter:
    """The segment centroids as large labelled diamonds in their segments' colours (the last trace of a map);
    `where` is appended to the hover text (e.g. the coordinates)."""
    return go.Scatter(
        x=x,
        y=y,
        mode="markers+text",
        name="centroids",
        text=keys,
        textposition="top center",
        textfont={"size": 14},
        marker={
            "size": 22,
            "symbol": "diamond",
            "color": [colours.get(k, "#333") for k in keys],
            "line": {"width": 2, "color": "#111"},
        },
        hovertext=[labels.get(k, k) for k in keys],
        hovertemplate="centroid of %{hovertext}" + where + "<extra></extra>",
    )


def customer_map(
    model: SegmentModel, sample: pd.DataFrame, labels: dict[str, str], colours: dict[str, str]
) -> go.Figure | None:
    """Customers and centroids in the first two principal components of model space; None when the
    sample lacks the model's features (attribute-based models) or has too few customers for PCA."""
    if any(f not in sample.columns for f in model.features):
        return None
    sample = sample.dropna(subset=model.features)
    if len(sample) < 3:
        return None
    z = model.to_model_space(sample)
    pca = PCA(n_components=min(2, z.shape[1]), svd_solver="full").fit(z)
    points, centres = _two_columns(pca.transform(z)), _two_columns(pca.transform(model.centroids))
    explained = [*pca.explained_variance_ratio_, 0.0]
    figure = go.Figure()
    keys = sample["segment_key"].to_numpy()
    for key in [k for k in labels if k in set(keys)]:
        inside = keys == key
        figure.add_trace(
            go.Scatter(
                x=points[inside, 0],
                y=points[inside, 1],
                mode="markers",
                name=labels[key],
                marker={"size": 5, "opacity": 0.55, "color": colours[key]},
                customdata=sample.loc[inside, "customer_id"].to_numpy(),
                hovertemplate="customer %{customdata}<br>" + html.escape(labels[key]) + "<extra></extra>",
            )
        )
    figure.add_trace(
        centroid_markers(centres[:, 0], centres[:, 1], list(model.segment_keys), labels, colours, where="")
    )
    figure.update_layout(
        template="plotly_white",
        height=600,
        legend={"title": "segment"},
        margin={"t": 30},
        xaxis_title=f"first principal component ({explained[0]:.0%} of the variance)",
        yaxis_title=f"second principal component ({explained[1]:.0%} of the variance)",
    )
    return figure


def _two_columns(projected: np.ndarray) -> np.ndarray:
    # A one-feature model has one component: draw it on a line.
    return projected if projected.shape[1] == 2 else np.c_[projected, np.zeros(len(projected))]


def sizes_figure(table: pd.DataFrame, labels: dict[str, str], colours: dict[str, str]) -> go.Figure:
    """Customers per segment as bars, with each segment's share of the run."""
    keys = list(table["segment_key"])
    figure = go.Figure(
        go.Bar(
            x=[labels[k] for k in keys],
            y=table["customers"],
            marker_color=[colours[k] for k in keys],
            text=[f"{s:.1%}" for s in table["share"]],
            textposition="outside",
            hovertemplate="%{x}<br>%{y:,} customers (%{text})<extra></extra>",
        )
    )
    figure.update_layout(
        template="plotly_white",
        height=420,
        yaxis_title="customers",
        margin={"t": 30},
        yaxis_range=[0, float(table["customers"].max()) * 1.15],
    )
    return figure


def profile_figure(scores: pd.DataFrame, labels: dict[str, str]) -> go.Figure | None:
    """Mean R, F and M score per segment as grouped bars; None when the run has no scores."""
    scores = scores.dropna(how="all", subset=["mean_r_score", "mean_f_score", "mean_m_score"])
    if scores.empty:
        return None
    x = [labels[k] for k in scores.index]
    # Shades of one slate hue: the segment colours of the other charts would read as segments here.
    figure = go.Figure(
        [
            go.Bar(
                x=x,
                y=scores[column],
                name=name,
                marker_color=colour,
                hovertemplate="%{x}<br>" + name + " %{y:.2f}<extra></extra>",
            )
            for column, name, colour in (
                ("mean_r_score", "recency score (5 = most recent)", "#2f3e56"),
                ("mean_f_score", "frequency score (5 = most orders)", "#6b84ad"),
                ("mean_m_score", "monetary score (5 = highest spend)", "#b4c6e4"),
            )
        ]
    )
    figure.update_layout(
        template="plotly_white",
        height=420,
        barmode="group",
        yaxis_range=[0, 5.2],
        yaxis_title="mean score (1-5)",
        legend={"orientation": "h", "y": 1.12},
        margin={"t": 40},
    )
    return figure


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


def selection_figure(candidates: list[dict[str, Any]], algorithm: str, k: int) -> go.Figure | None:
    """WCSS (elbow) and silhouette against k per algorithm, the chosen model starred; silhouette alone for
    models trained before WCSS was recorded. None when no candidate has metrics."""
    scored = [c for c in candidates if "silhouette" in c.get("metrics", {})]
    if not scored:
        return None
    metrics = [m for m in ("wcss", "silhouette") if any(m in c["metrics"] for c in scored)]
    titles = {"wcss": "within-cluster sum of squares (elbow)", "silhouette": "silhouette (higher is better)"}
    figure = make_subplots(rows=1, cols=len(metrics), subplot_titles=[titles[m] for m in metrics])
    for column, metric in enumerate(metrics, start=1):
        for name in dict.fromkeys(c["algorithm"] for c in scored):
            points = sorted(
                (c for c in scored if c["algorithm"] == name and metric in c["metrics"]), key=lambda c: c["k"]
            )
            figure.add_trace(
                go.Scatter(
                    x=[c["k"] for c in points],
                    y=[c["metrics"][metric] for c in points],
                    mode="lines+markers",
                    name=name,
                    legendgroup=name,
                    showlegend=column == 1,
                    line={"color": ALGORITHM_COLOURS.get(name, "#777")},
                    marker={"size": 9, "symbol": ["circle" if c["passed"] else "x" for c in points]},
                    hovertext=[_verdict(c) for c in points],
                    hovertemplate=name + ", k=%{x}: %{y}<br>%{hovertext}<extra></extra>",
                ),
                row=1,
                col=column,
            )
        chosen = [c for c in scored if c["algorithm"] == algorithm and c["k"] == k and metric in c["metrics"]]
        if chosen:
            figure.add_trace(
                go.Scatter(
                    x=[k],
                    y=[chosen[0]["metrics"][metric]],
                    mode="markers",
                    name=f"chosen: {algorithm}, k={k}",
                    legendgroup="chosen",
                    showlegend=column == 1,
                    marker={"size": 20, "symbol": "star", "color": "#d62728", "line": {"width": 1, "color": "#111"}},
                    hovertemplate=f"chosen: {algorithm}, k={k}<br>%{{y}}<extra></extra>",
                ),
                row=1,
                col=column,
            )
        figure.update_xaxes(title_text="k (segments)", dtick=1, row=1, col=column)
    figure.update_layout(template="plotly_white", height=440, margin={"t": 50})
    return figure


def _verdict(candidate: dict[str, Any]) -> str:
    return "passed the gates" if candidate["passed"] else f"rejected: {candidate['rejected_because']}"


def transitions_figure(rows: list[tuple]) -> go.Figure | None:
    """Customers moving from each segment of the previous run (rows) to this run's (columns), shaded by
    the share of the row; None without an earlier run. rows as from queries/transitions_into_run."""
    if not rows:
        return None
    froms = sorted({r[2]: segment_label(r[2], r[3]) for r in rows}.items(), key=lambda kv: segment_key_order(kv[0]))
    tos = sorted({r[4]: segment_label(r[4], r[5]) for r in rows}.items(), key=lambda kv: segment_key_order(kv[0]))
    from_row, to_column = {k: i for i, (k, _) in enumerate(froms)}, {k: i for i, (k, _) in enumerate(tos)}
    counts = np.zeros((len(froms), len(tos)), dtype=int)
    for _, _, from_key, _, to_key, _, customers, _ in rows:
        counts[from_row[from_key], to_column[to_key]] = customers
    shares = counts / counts.sum(axis=1, keepdims=True).clip(min=1)
    figure = go.Figure(
        go.Heatmap(
            z=shares,
            x=[label for _, label in tos],
            y=[label for _, label in froms],
            text=counts,
            texttemplate="%{text:,}",
            colorscale="Reds",
            zmin=0,
            zmax=1,
            colorbar={"title": "share of row", "tickformat": ".0%"},
            hovertemplate="from %{y}<br>to %{x}<br>%{text:,} customers (%{z:.1%} of the row)<extra></extra>",
        )
    )
    figure.update_layout(
        template="plotly_white",
        height=max(360, 60 + 44 * len(froms)),
        margin={"t": 30},
        xaxis_title=f"segment in run {rows[0][1]}",
        yaxis_title=f"segment in run {rows[0][0]}",
        yaxis_autorange="reversed",
    )
    return figure


def drift_links(db: Database, settings: Settings, run_id: int, page: Path) -> list[str]:
    """HTML list items linking the run's drift reports and transitions page that exist, relative to the page."""
    verdicts = {row[2]: row for row in drift.reports_for_run(db, run_id)}
    items = []
    for reference in ("previous", "training"):
        target = drift.report_path(settings, run_id, reference).resolve()
        if not target.exists():
            continue
        row = verdicts.get(reference)
        against = (
            f"the previous run (run {row[3]})"
            if row and reference == "previous"
            else (f"the training data of model v{row[4]}" if row else f"the {reference} reference")
        )
        # The stored verdict names a risen inactive share first; reports stored before it counted have none.
        figures = (row[10] or {}).get("verdict") if row else None
        verdict = (
            f": {'<strong>drifted</strong>' if row[5] else 'no drift'}, "
            + html.escape(figures or f"segment PSI {row[7]:.3f}, {row[6]:.0%} of features drifted")
            if row
            else ""
        )
        items.append(f'<li><a href="{_href(target, page)}">drift against {against}</a>{verdict}</li>')
    transitions = drift.transitions_path(settings, run_id).resolve()
    if transitions.exists():
        items.append(f'<li><a href="{_href(transitions, page)}">segment transitions as a table</a></li>')
    return items


def _href(target: Path, page: Path) -> str:
    # Relative, so the reports folder can be copied or served elsewhere and the links still work.
    return html.escape(Path(os.path.relpath(target, page.parent)).as_posix(), quote=True)


def _figure_html(figure: go.Figure, div_id: str, first: bool) -> str:
    # plotly.js goes into the page once, with the first figure: no CDN, the page works offline.
    return figure.to_html(full_html=False, include_plotlyjs=first, div_id=div_id, config=PLOT_CONFIG)


@dataclass(frozen=True)
class Section:
    """One numbered part of the page: heading, caption (HTML), a chart (or None) and HTML after it."""

    heading: str
    caption: str
    figure: go.Figure | None = None
    after: str = ""


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


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


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
    sample = drift.attempt_sample(db, attempt_id, MAP_POINTS, settings.seed, everyone=False)
    figure = customer_map(model, sample, labels, colours)
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
    scores = pd.DataFrame(
        db.run("queries/report/report_segment_scores", {"attempt_id": attempt_id}),
        columns=["segment_key", "mean_r_score", "mean_f_score", "mean_m_score"],
    ).set_index("segment_key")
    figure = profile_figure(scores, labels)
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


def uses_attributes(model: SegmentModel) -> bool:
    """Whether a model clusters on loaded customer attributes (not only on RFM features)."""
    return any(feature not in RFM_FEATURES for feature in model.features)


def feature_sample(db: Database, attempt_id: int, features: list[str], size: int, seed: int) -> pd.DataFrame:
    """A deterministic sample of an attempt's clustered customers: customer_id, segment_key and each feature."""
    columns = sql.SQL(", ").join(sql.SQL("{} as {}").format(feature_value(f), sql.Identifier(f)) for f in features)
    with db.transaction() as cur:
        rows = run_composed_named(
            cur,
            "queries/report/report_feature_sample",
            {"attempt_id": attempt_id, "seed": str(seed), "limit": size},
            features=columns,
        )
    frame = pd.DataFrame(rows, columns=["customer_id", "segment_key", *features])
    return frame.astype(dict.fromkeys(features, "float64"))


def axis_title(feature: str) -> str:
    """'Income (annual_income_k)': the readable label, and the column it comes from."""
    return f"{feature_title(feature)} ({feature})"


def attribute_map(
    model: SegmentModel, sample: pd.DataFrame, labels: dict[str, str], colours: dict[str, str]
) -> go.Figure | None:
    """Customers and centroids of a model with attribute features: on its two features in their own units, or on
    the first two principal components of model space when it has more; None with fewer than three customers."""
    if len(model.features) != 2:
        figure = customer_map(model, sample, labels, colours)
        if figure is not None:
            words = ", ".join(feature_label(f) for f in model.features)
            figure.update_layout(
                title=f"Customers on the first two principal components of model space (PCA of {words})",
                margin={"t": 60},
            )
        return figure
    sample = sample.dropna(subset=model.features)
    if len(sample) < 3:
        return None
    x_feature, y_feature = model.features
    figure = go.Figure()
    keys = sample["segment_key"].to_numpy()
    for key in [k for k in labels if k in set(keys)]:
        inside = sample[keys == key]
        figure.add_trace(
            go.Scatter(
                x=inside[x_feature],
                y=inside[y_feature],
                mode="markers",
                name=labels[key],
                marker={"size": 7, "opacity": 0.7, "color": colours[key]},
                customdata=inside["customer_id"].to_numpy(),
                hovertemplate="customer %{customdata}<br>"
                + html.escape(labels[key])
                + f"<br>{html.escape(feature_label(x_feature))} %{{x}}, {html.escape(feature_label(y_feature))} "
                "%{y}<extra></extra>",
            )
        )
    centres = model.centroids_original_units()
    figure.add_trace(
        centroid_markers(
            centres[x_feature], centres[y_feature], list(model.segment_keys), labels, colours, "<br>%{x:.1f}, %{y:.1f}"
        )
    )
    figure.update_layout(
        template="plotly_white",
        height=600,
        title=(
            f"Customers by {feature_label(x_feature)} and {feature_label(y_feature)}, in their own units; "
            "diamonds are the segment centroids"
        ),
        legend={"title": "segment"},
        margin={"t": 60},
        xaxis_title=axis_title(x_feature),
        yaxis_title=axis_title(y_feature),
    )
    return figure


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
    sample = feature_sample(db, attempt_id, model.features, MAP_POINTS, settings.seed)
    figure = attribute_map(model, sample, labels, colours)
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
    long = db.run("queries/report/report_attribute_means", {"attempt_id": attempt_id})
    others = (
        pd.DataFrame(long, columns=["segment_key", "attribute", "mean"])
        .query("attribute not in @model.features")
        .pivot(index="segment_key", columns="attribute", values="mean")
    )
    rules = {key: action for key, (_, action) in RULE_SEGMENTS.items()}
    actions = rules | {key: action for key, (_, action) in registry.segment_names(db, version).items()}
    return Section(
        "Segment profiles",
        "Each segment's customers and the mean of every feature the model clusters on, in the features' own units; "
        "the columns after them are the other numeric attributes loaded with the customers, which the model does "
        "not use but which help to tell the segments apart; then what to do with each segment.",
        after=attribute_profile_table(table, means, others.astype(float), labels, actions),
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
    figure = selection_figure(candidates, details["algorithm"], details["k"])
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
    rows = db.run("queries/transitions/transitions_into_run", {"run_id": run_id})
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
        transitions_figure(rows),
    )


def build_segment_report(db: Database, settings: Settings, run_id: int | None = None) -> Path:
    """Write the segment report of a published run (default: the one BI reads now); its absolute path."""
    run = runs.published_run(db, run_id)
    page = segment_report_path(settings, run["run_id"])
    table = runs.segment_table(db, run["attempt_id"])
    labels = {k: segment_label(k, n) for k, n in zip(table["segment_key"], table["segment_name"], strict=True)}
    colours = segment_colours(list(table["segment_key"]))
    clustered = int(table.loc[~table["segment_key"].isin(RULE_COLOURS), "customers"].sum())
    model, details = registry.load(db, run["model_version"]), registry.details(db, run["model_version"])
    # A model on customer attributes gets its map in the features' own units and a profile of their means; R/F/M
    # score bars only when it also clusters on transactions.
    attribute_model = uses_attributes(model)
    draw_map = attribute_map_section if attribute_model else map_section
    profiles = []
    if attribute_model:
        profiles.append(attribute_profile_section(db, run["attempt_id"], run["model_version"], model, table, labels))
    if set(model.features) & set(RFM_FEATURES):
        profiles.append(profile_section(db, run["attempt_id"], table, labels))
    sections = [
        draw_map(db, settings, run["attempt_id"], model, labels, colours, clustered),
        Section(
            "Segment sizes",
            "Customers per segment, with each segment's share of the run's customers "
            "(inactive: no purchase in the look-back window; unscored: missing a model feature; returned_all: returns "
            "cancel the purchases; other lower-case keys such as lost: customers whose own R/F/M scores contradicted "
            "their cluster's name, named by them).",
            sizes_figure(table, labels, colours),
        ),
        actions_section(table, labels),
        *profiles,
        selection_section(details),
        moves_section(db, run["run_id"]),
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
        f"Segments of run {run_id}, as of {as_of}", facts, drift_links(db, settings, run["run_id"], page), sections
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
    next_run = rows[0][3] if rows else None
    if next_run is not None and segment_report_path(settings, next_run).exists():
        build_segment_report(db, settings, next_run)
    return path
