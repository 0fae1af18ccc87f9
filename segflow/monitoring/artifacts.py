"""Markdown for the nightly flow's Prefect artifacts: the segment table and the drift verdicts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from segflow.monitoring.drift_report import DriftResult


def segment_markdown(table: pd.DataFrame, as_of: date, model_version: int | None) -> str:
    """The segment table as markdown (shares of all the run's customers)."""
    lines = [
        f"# Segments as of {as_of} (model v{model_version})",
        "",
        "| key | segment | customers | share of all customers | mean recency (days) | mean frequency | mean monetary |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in table.itertuples(index=False):
        lines.append(
            f"| {row.segment_key} | {row.segment_name} | {row.customers:,} | {row.share:.1%} | "
            f"{_fmt(row.mean_recency_days, '.1f')} | {_fmt(row.mean_frequency, '.2f')} | "
            f"{_fmt(row.mean_monetary, ',.2f')} |"
        )
    return "\n".join(lines) + "\n"


def _fmt(value: object, pattern: str) -> str:
    return "" if value is None or pd.isna(value) else format(value, pattern)


def drift_markdown(results: list[DriftResult], as_of: date, transitions_page: Path | None = None) -> str:
    """The drift verdicts and report paths as markdown (populations over all customers, inactive included)."""
    lines = [
        f"# Drift as of {as_of}",
        "",
        "| reference | drift | inactive (share of all customers) | segment PSI | drifted features | new since "
        "the reference | report |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for r in results:
        verdict = ("yes: " + r.verdict_text()) if r.dataset_drift else "no"
        inactive = "not compared" if r.inactive is None else r.inactive.text()
        new = "" if r.populations is None else r.populations.new_cell()
        lines.append(
            f"| {r.reference} | {verdict} | {inactive} | {r.shares.psi:.3f} | {r.drift_share:.0%} | {new} | "
            f"file://{r.html_path} |"
        )
    if not results:
        lines.append("| (no reference yet) | | | | | | |")
    if transitions_page is not None:
        lines += ["", f"Segment transitions: file://{transitions_page}"]
    return "\n".join(lines) + "\n"
