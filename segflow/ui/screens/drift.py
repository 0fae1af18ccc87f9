"""Drift over nights: segment shares, PSI and drifted-feature share per published run, verdicts, each run's
reports and the moves between segments."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from segflow.monitoring.drift_page import segment_label
from segflow.monitoring.drift_shares import InactiveShift, new_customers_cell
from segflow.monitoring.report import figures
from segflow.monitoring.verdict import verdict_word
from segflow.settings import Settings
from segflow.ui import common, data

REFERENCES = {"previous": "against the previous run", "training": "against the model's training data"}
REFERENCE_COLOURS = {"previous": "#6b84ad", "training": "#e07b39"}


def render() -> None:
    st.title("Drift over nights")
    db, settings = common.database(), common.settings()
    runs = data.drift_by_run(db)
    if runs.empty:
        st.info("No run is published yet. Run `segflow run` (or `segflow demo`), then reload this page.")
        return
    st.caption(
        f"A run has drifted when the inactive share of all customers rose by {settings.drift_inactive_rise:g} share "
        f"points or more, its segment-share PSI reaches {settings.drift_psi_threshold:g} or the share of "
        f"drifted features reaches {settings.drift_share_threshold:.0%} (SEGFLOW_DRIFT_INACTIVE_RISE, "
        "SEGFLOW_DRIFT_PSI_THRESHOLD, SEGFLOW_DRIFT_SHARE_THRESHOLD). Shares and PSI count every customer: "
        "inactive (no purchase in the lookback window) is a population of its own."
    )
    shares = data.segment_shares_by_run(db)
    st.subheader("Segment shares per run (all customers, inactive included)")
    st.plotly_chart(_shares_figure(shares))

    reports = runs.dropna(subset=["reference"])
    st.subheader("PSI and drifted-feature share per run")
    if reports.empty:
        st.write("No drift report yet: the first published run has nothing to compare with.")
    else:
        st.plotly_chart(_drift_figure(reports, settings.drift_psi_threshold, settings.drift_share_threshold))

    st.subheader("Verdicts")
    verdicts = _verdicts(runs, settings)
    st.dataframe(
        verdicts,
        hide_index=True,
        column_order=[c for c in verdicts.columns if c != "reference"],
        column_config={
            "drifted-feature share": st.column_config.NumberColumn(format="percent"),
            "segment PSI": st.column_config.NumberColumn(format="%.3f"),
            # A path to copy, not a link: browsers do not follow file:// links from a web page (see below the table).
            "report": st.column_config.TextColumn("report file"),
        },
    )
    _report_viewer(verdicts, settings)

    st.subheader("Moves between segments")
    run_ids = list(dict.fromkeys(runs["run_id"]))
    run_id = st.selectbox(
        "Into run",
        run_ids,
        format_func=lambda r: f"run {r}, as of {runs.loc[runs['run_id'] == r, 'as_of'].iloc[0]}",
        key="transitions_run",
    )
    moves = data.transitions_into(db, run_id)
    if moves.empty:
        st.write(f"Run {run_id} has no earlier published run: nothing to compare with.")
    else:
        st.plotly_chart(figures.transitions_figure(list(moves.itertuples(index=False, name=None))))
        moved = moves.loc[moves["from_key"] != moves["to_key"], "customers"].sum()
        st.write(
            f"{moved:,} of {moves['customers'].sum():,} customers changed segment since run "
            f"{moves['from_run'].iloc[0]}."
        )


def _shares_figure(shares: pd.DataFrame) -> go.Figure:
    labels = {k: segment_label(k, n) for k, n in zip(shares["segment_key"], shares["segment_name"], strict=True)}
    colours = figures.segment_colours(list(dict.fromkeys(shares["segment_key"])))
    shares = shares.assign(run=[f"run {r} ({a})" for r, a in zip(shares["run_id"], shares["as_of"], strict=True)])
    figure = go.Figure(
        [
            go.Bar(
                x=part["run"],
                y=part["share"],
                name=labels[key],
                marker_color=colours[key],
                hovertemplate=labels[key] + "<br>%{x}: %{y:.1%}<extra></extra>",
            )
            for key, part in shares.groupby("segment_key", sort=False)
        ]
    )
    figure.update_layout(barmode="stack", template="plotly_white", height=420, yaxis_tickformat=".0%", margin={"t": 30})
    return figure


def _drift_figure(reports: pd.DataFrame, psi_threshold: float, share_threshold: float) -> go.Figure:
    figure = make_subplots(rows=1, cols=2, subplot_titles=["segment-share PSI", "share of drifted features"])
    for reference, part in reports.groupby("reference"):
        part = part.sort_values("as_of")
        for column, metric in enumerate(("segment_psi", "drift_share"), start=1):
            figure.add_trace(
                go.Scatter(
                    x=part["as_of"].astype(str),
                    y=part[metric],
                    mode="lines+markers",
                    name=REFERENCES.get(str(reference), str(reference)),
                    legendgroup=str(reference),
                    showlegend=column == 1,
                    line={"color": REFERENCE_COLOURS.get(str(reference), "#777")},
                ),
                row=1,
                col=column,
            )
    figure.add_hline(y=psi_threshold, line_dash="dash", line_color="#d62728", row=1, col=1)
    figure.add_hline(y=share_threshold, line_dash="dash", line_color="#d62728", row=1, col=2)
    figure.update_yaxes(tickformat=".0%", row=1, col=2)
    figure.update_layout(template="plotly_white", height=380, margin={"t": 50})
    return figure


def _verdicts(runs: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    rows = []
    for row in runs.itertuples(index=False):
        if row.reference is None or pd.isna(row.reference):
            rows.append(
                {
                    "run": row.run_id,
                    "as of": row.as_of,
                    "model": f"v{row.model_version}",
                    "against": "",
                    "verdict": "no report",
                }
            )
            continue
        against = (
            f"run {int(row.reference_run)}"
            if row.reference == "previous" and pd.notna(row.reference_run)
            else f"training data of v{int(row.reference_model_version)}"
            if pd.notna(row.reference_model_version)
            else row.reference
        )
        path = data.report_file(settings, row.run_id, row.reference)
        rows.append(
            {
                "run": row.run_id,
                "as of": row.as_of,
                "model": f"v{row.model_version}",
                "against": against,
                "verdict": _verdict(row),
                "inactive": _inactive(row),
                "segment PSI": row.segment_psi,
                "drifted-feature share": row.drift_share,
                "new since the reference": _new(row),
                "report": str(path) if path else None,
                "reference": row.reference,
            }
        )
    return pd.DataFrame(rows)


def _verdict(row: Any) -> str:  # a row of data.drift_by_run (an itertuples namedtuple)
    """'drifted: inactive 0.3 % → 59.6 %' when the inactive rise is a verdict (named first), else the verdict."""
    # dataset_drift and inactive_risen are what segflow.monitoring.verdict decided when the report was stored.
    word = verdict_word(bool(row.dataset_drift))
    if row.dataset_drift and pd.notna(row.inactive_risen) and bool(row.inactive_risen):
        return f"{word}: {_inactive(row)}"
    return word


def _inactive(row: Any) -> str:  # a row of data.drift_by_run (an itertuples namedtuple)
    if pd.isna(row.inactive_then) or pd.isna(row.inactive_now):
        return ""
    return InactiveShift(float(row.inactive_then), float(row.inactive_now)).text()


def _new(row: Any) -> str:  # a row of data.drift_by_run (an itertuples namedtuple)
    if pd.isna(row.new_since_reference) or pd.isna(row.customers_now):
        return ""
    return new_customers_cell(int(row.new_since_reference), int(row.customers_now))


def _report_viewer(verdicts: pd.DataFrame, settings: Settings) -> None:
    """Browsers do not open file:// links from a web page: the chosen report is offered as a download and shown here."""
    available = verdicts.dropna(subset=["report"]) if "report" in verdicts else verdicts.iloc[0:0]
    if available.empty:
        return
    choices = {
        f"run {r.run}, {REFERENCES[r.reference]}": (r.run, r.reference) for r in available.itertuples(index=False)
    }
    chosen = st.selectbox("Drift report", list(choices), key="drift_report")
    path = data.report_file(settings, *choices[chosen])
    if path is None:
        return
    html = path.read_text(encoding="utf-8")
    columns = st.columns(2)
    columns[0].download_button(
        "Download this report (HTML)",
        html,
        file_name=path.name,
        mime="text/html",
        key="download_report",
        on_click="ignore",
    )
    if columns[1].toggle("Show it here", key="show_report"):
        st.components.v1.html(html, height=900, scrolling=True)
