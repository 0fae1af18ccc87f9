"""The drift page a reviewer reads in a minute: a header over Evidently's report naming the run, the reference,
the verdict and the segments by name, and Evidently's columns named for a reader.

Evidently draws what it is given: machine names ('S2__recency_days') and segment keys ('S2') reach the page as
they are. So the frames it gets have readable column names ('S2 Loyal: recency (days)') and segment labels, and
the database keeps the machine names (segflow.monitoring.drift_evidently maps them back).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from segflow.modelling.segments import RULE_SEGMENTS
from segflow.monitoring.verdict import DriftVerdict

FEATURE_LABELS = {
    "recency_days": "recency (days)",
    "frequency": "frequency (orders)",
    "monetary": "monetary (revenue)",
    "tenure_days": "tenure (days)",
    "avg_order_value": "average order value",
}
FEATURE_FORMATS = {"recency_days": ",.1f", "frequency": ",.2f", "tenure_days": ",.1f"}
SEGMENT_COLUMN = "segment"  # the segment label column Evidently shows ('segment_key' in the database)
HEADER_ID = "segflow-drift-header"
ALL_SAMPLED = "all customers in the sample"


def segment_label(key: str, name: str) -> str:
    """'S2 Loyal' for a model's segment; a rule segment by its name alone ('inactive', 'At risk' for the key
    'at_risk', 'Returned everything' for 'returned_all'): the model-independent key adds nothing to the name."""
    rule = RULE_SEGMENTS.get(key)
    return name if key == name or (rule is not None and rule[0] == name) else f"{key} {name}"


def feature_label(feature: str) -> str:
    """'recency (days)' for 'recency_days'; other features as they are named."""
    return FEATURE_LABELS.get(feature, feature)


def segment_column_label(segment_label: str, feature: str) -> str:
    """The readable name of a per-segment column: 'S2 Loyal: recency (days)'."""
    return f"{segment_label}: {feature_label(feature)}"


@dataclass(frozen=True)
class SegmentShare:
    """A population's (segment's, inactive's, ...) share of all customers in the reference and now, and its PSI
    term."""

    label: str
    share_then: float
    share_now: float
    psi: float


@dataclass(frozen=True)
class InactiveVerdict:
    """The inactive share's change ('inactive 0.3 % → 59.6 %'), its rise and the threshold, in share points."""

    text: str
    rise_points: float
    threshold_points: float


@dataclass(frozen=True)
class SegmentMeans:
    """A segment's (or all sampled customers') mean features in the reference sample and now."""

    label: str
    customers_then: int
    customers_now: int
    then: dict[str, float]
    now: dict[str, float]


@dataclass(frozen=True)
class DriftHeader:
    """What the header of a drift page says."""

    run_id: int
    as_of: str
    model_version: int | None
    reference: str  # 'previous' or 'training'
    reference_text: str  # e.g. 'run 3, as of 2026-11-21' or 'the training snapshot of model v1 (as of 2026-11-01)'
    verdict: DriftVerdict  # segflow.monitoring.verdict: whether it drifted, and by which rules
    psi: float
    psi_threshold: float
    drifted_features: list[str]
    features: list[str]
    drift_share: float
    share_threshold: float
    shares: list[SegmentShare]
    means: list[SegmentMeans] = field(default_factory=list)
    under_model: int | None = None
    inactive: InactiveVerdict | None = None  # None: the reference cannot say (a model with no training run)
    customers_now: int | None = None
    customers_then: int | None = None
    new_since_reference: str | None = None  # '600 new since the reference (6.7 % of now)'
    model_only: bool = False  # shares over the model's own segments only, not all customers


def segment_means(
    now: pd.DataFrame, then: pd.DataFrame, features: list[str], labels: dict[str, str]
) -> list[SegmentMeans]:
    """Mean features per segment (in label order), then over all customers of both samples (a feature's mean
    over the customers who have it: inactive customers have none)."""
    rows = []
    for key, label in labels.items():
        inside_now, inside_then = now[now["segment_key"] == key], then[then["segment_key"] == key]
        if inside_now.empty and inside_then.empty:
            continue
        rows.append(_means(label, inside_now, inside_then, features))
    rows.append(_means(ALL_SAMPLED, now, then, features))
    return rows


def _means(label: str, now: pd.DataFrame, then: pd.DataFrame, features: list[str]) -> SegmentMeans:
    return SegmentMeans(
        label=label,
        customers_then=len(then),
        customers_now=len(now),
        then={f: float(then[f].mean()) for f in features},
        now={f: float(now[f].mean()) for f in features},
    )


def _number(value: float | None, feature: str) -> str:
    if value is None or value != value:
        return "–"
    return format(value, FEATURE_FORMATS.get(feature, ",.2f"))


def _pp(change: float) -> str:
    points = round(change * 100, 1)
    return "0.0 pp" if points == 0 else f"{points:+.1f} pp"  # no '-0.0' for a change that rounds away


STYLE = f"""<style>
#{HEADER_ID} {{ font-family: system-ui, sans-serif; color: #222; margin: 1.5em 2em; padding: 1em 1.5em;
  border: 1px solid #ddd; border-radius: 6px; background: #fff; width: fit-content; }}
#{HEADER_ID} h1 {{ margin: 0 0 .4em; font-size: 1.6em; }} #{HEADER_ID} h3 {{ margin: 1.2em 0 .3em; }}
#{HEADER_ID} table {{ border-collapse: collapse; }}
#{HEADER_ID} th, #{HEADER_ID} td {{ border: 1px solid #ccc; padding: 3px 9px; text-align: right; }}
#{HEADER_ID} th {{ background: #f3f3f3; text-align: left; }} #{HEADER_ID} td.text {{ text-align: left; }}
#{HEADER_ID} .drifted {{ color: #b00020; font-weight: 700; }}
#{HEADER_ID} .quiet {{ color: #1b5e20; font-weight: 700; }}
#{HEADER_ID} p {{ max-width: 70em; color: #555; }}
</style>"""


def header_html(header: DriftHeader) -> str:
    """The header block: its own scoped stylesheet, so Evidently's styles and ours do not meet."""
    e = html.escape
    verdict = (
        '<span class="drifted">DRIFTED</span>' if header.verdict.drifted else '<span class="quiet">no drift</span>'
    )
    psi_hit, share_hit = header.verdict.psi_reached, header.verdict.features_reached
    drifted_names = ", ".join(feature_label(f) for f in header.drifted_features) or "none"
    why = _inactive_why(header) + (
        f"segment-share PSI <b>{header.psi:.3f}</b> "
        f"({'at or above' if psi_hit else 'below'} the threshold {header.psi_threshold:g}, "
        "SEGFLOW_DRIFT_PSI_THRESHOLD); "
        f"<b>{len(header.drifted_features)} of {len(header.features)}</b> features drifted "
        f"({header.drift_share:.0%}: {e(drifted_names)}; "
        f"{'at or above' if share_hit else 'below'} the threshold {header.share_threshold:.0%}, "
        "SEGFLOW_DRIFT_SHARE_THRESHOLD)"
    )
    rescored = (
        f" Its customers are shown as model v{header.under_model} (this run's) scores them, so a change is the "
        "customers', not the model's."
        if header.under_model is not None
        else ""
    )
    model = f", model v{header.model_version}" if header.model_version is not None else ""
    share_rows = "".join(
        f"<tr><th>{e(s.label)}</th><td>{s.share_then:.1%}</td><td>{s.share_now:.1%}</td>"
        f"<td>{_pp(s.share_now - s.share_then)}</td><td>{s.psi:.4f}</td></tr>"
        for s in header.shares
    )
    features = header.features
    mean_head = "".join(f'<th colspan="2">{e(feature_label(f))}</th>' for f in features)
    mean_rows = "".join(
        f"<tr><th>{e(m.label)}</th><td>{m.customers_then:,}</td><td>{m.customers_now:,}</td>"
        + "".join(f"<td>{_number(m.then.get(f), f)}</td><td>{_number(m.now.get(f), f)}</td>" for f in features)
        + "</tr>"
        for m in header.means
    )
    means = (
        "<h3>Mean features per segment</h3><table>"
        f'<tr><th rowspan="2">segment</th><th colspan="2">customers in the sample</th>{mean_head}</tr>'
        f"<tr>{'<th>reference</th><th>now</th>' * (len(features) + 1)}</tr>{mean_rows}</table>"
        if header.means and features
        else ""
    )
    return f"""{STYLE}
<div id="{HEADER_ID}">
<h1>{e(title(header))}</h1>
<table>
<tr><th>run</th><td class="text">run {header.run_id}, as of {e(header.as_of)}{model}</td></tr>
<tr><th>reference</th><td class="text">{e(header.reference_text)}.{e(rescored)}</td></tr>
<tr><th>verdict</th><td class="text">{verdict}: {why}</td></tr>
{_customers(header)}
</table>
<h3>{"Segments: share of the model's segments" if header.model_only else "Segments: share of all customers"}</h3>
<table>
<tr><th>segment</th><th>reference</th><th>now</th><th>change</th><th>PSI term</th></tr>{share_rows}</table>
{means}
<p>Below: Evidently's report on samples of the run and of the reference. Red is now, grey the reference. The segment
column counts every customer, inactive ones too; the features are those of customers with a purchase in the lookback
window. A column named '<i>segment: feature</i>' holds the feature of that segment's customers only, so its
distribution shows how the segment itself moved.</p>
</div>
"""


def _inactive_why(header: DriftHeader) -> str:
    """The inactive verdict, first: 'inactive 0.0 % → 33.3 % (+33.3 pp, at or above the threshold 5 pp, ...); '."""
    inactive = header.inactive
    if inactive is None:
        return ""
    risen = header.verdict.inactive_risen
    hit = "at or above" if risen else "below"
    text = html.escape(inactive.text)
    shown = f'<b class="drifted">{text}</b>' if risen else f"<b>{text}</b>"
    return (
        f"{shown} ({_pp(inactive.rise_points / 100)}, {hit} the threshold {inactive.threshold_points:g} pp, "
        "SEGFLOW_DRIFT_INACTIVE_RISE); "
    )


def _customers(header: DriftHeader) -> str:
    """'9,000 now, 8,400 in the reference; 600 new since the reference (6.7 % of now)'."""
    if header.customers_now is None:
        return ""
    parts = [f"{header.customers_now:,} now"]
    if header.customers_then is not None:
        parts.append(f"{header.customers_then:,} in the reference")
    text = ", ".join(parts)
    if header.new_since_reference is not None:
        text += f"; {header.new_since_reference}"
    return f'<tr><th>customers</th><td class="text">{html.escape(text)}</td></tr>'


def title(header: DriftHeader) -> str:
    """'Drift of run 4 (as of 2026-11-28) against the previous run'."""
    against = "the previous run" if header.reference == "previous" else "the training data"
    return f"Drift of run {header.run_id} (as of {header.as_of}) against {against}"


def with_header(page: str, header: DriftHeader) -> str:
    """Evidently's saved page with the header first in its body and a document title."""
    block = header_html(header)
    body = page.find("<body>")
    if body < 0:
        return block + page
    at = body + len("<body>")
    page = page[:at] + "\n" + block + page[at:]
    head = page.find("<head>")
    if head >= 0:
        at = head + len("<head>")
        page = page[:at] + f"\n<title>{html.escape(title(header))}</title>" + page[at:]
    return page


def make_readable(snapshot: Any) -> None:
    """Make an Evidently snapshot's column plots readable, in place (before it is saved): without the 'DATA DRIFT'
    tab, and with the column's name under each distribution's x axis.

    The 'DATA DRIFT' tab plots a column against the row number ('Index binned'): the drift sample is in hash
    order, so that axis means nothing to a reader. The distribution (now against the reference) is what tells.
    """
    columns = {m["id"]: m["config"].get("column") for m in snapshot.dict()["metrics"]}
    for metric_id, result in snapshot.metric_results.items():
        for widget in getattr(result, "widget", None) or []:
            _drop_row_order_tab(widget, columns.get(metric_id))
    # The preset's table of columns is rendered by the preset, not by a metric: only the snapshot holds it
    # (a private attribute of evidently 0.7's Snapshot; pinned in pyproject.toml).
    for widget in getattr(snapshot, "_widgets", []):
        params = getattr(widget, "params", None)
        if getattr(widget, "type", "") != "big_table" or not isinstance(params, dict):
            continue
        dropped: set[str] = set()
        names: dict[str, str] = {}
        for row in params.get("data", []):
            parts = (row.get("details") or {}).get("parts") or []
            dropped |= {p["id"] for p in parts if p.get("title") == "DATA DRIFT"}
            names |= {p["id"]: row.get("column_name") for p in parts}
            if parts:
                row["details"]["parts"] = [p for p in parts if p.get("title") != "DATA DRIFT"]
        widget.additionalGraphs = [g for g in widget.additionalGraphs or [] if g.id not in dropped]
        for graph in widget.additionalGraphs:
            _title_x_axis(graph, names.get(graph.id))


def _drop_row_order_tab(widget: Any, column: str | None) -> None:
    tabs = getattr(widget, "tabs", None)
    if not tabs:
        return
    widget.tabs = [t for t in tabs if t.title != "DATA DRIFT"]
    for tab in widget.tabs:
        _title_x_axis(tab.widget, column)


def _title_x_axis(graph: Any, name: str | None) -> None:
    params = getattr(graph, "params", None)
    if name is None or not isinstance(params, dict) or not isinstance(params.get("layout"), dict):
        return
    layout = params["layout"]
    layout["xaxis"] = {**(layout.get("xaxis") or {}), "title": {"text": name}}
