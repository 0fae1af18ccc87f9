"""The segment report's charts: plotly figures of a run's segments (map, sizes, profiles, model selection, moves),
pure functions of frames and rows already read."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots
from sklearn.decomposition import PCA

from segflow.data.attribute_names import feature_label, feature_title
from segflow.data.features import RFM_FEATURES
from segflow.modelling.segment_model import SegmentModel
from segflow.modelling.segments import INACTIVE, UNSCORED, segment_key_order
from segflow.monitoring.drift_page import segment_label

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
                    hovertext=[_gate_outcome(c) for c in points],
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


def _gate_outcome(candidate: dict[str, Any]) -> str:
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


def uses_attributes(model: SegmentModel) -> bool:
    """Whether a model clusters on loaded customer attributes (not only on RFM features)."""
    return any(feature not in RFM_FEATURES for feature in model.features)


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
