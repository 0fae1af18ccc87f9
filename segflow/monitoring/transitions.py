"""The transitions page of a run: customers moving between segments since the published run before it, as a
self-contained HTML table beside the run's drift reports."""

from __future__ import annotations

import html
from pathlib import Path

from segflow.modelling.segments import segment_key_order
from segflow.settings import Settings


def transitions_html(
    rows: list[tuple], run_id: int, as_of: str, note: str = "", renames: list[tuple] | None = None
) -> str:
    """A self-contained page: the matrix of customers moving between segments into a run, in key order.

    rows: (from_run, to_run, from_key, from_name, to_key, to_name, customers, compared_under_model).
    note: why there is no earlier run to compare with, when rows is empty.
    renames: (key, inherited name, new name) of the run's model's segments that no longer fitted their inherited
    name, when the model changed between the runs.
    """

    def label(key: str, name: str) -> str:
        return html.escape(key if key == name else f"{key} {name}")

    froms = sorted({(r[2], r[3]) for r in rows}, key=lambda item: segment_key_order(item[0]))
    tos = sorted({(r[4], r[5]) for r in rows}, key=lambda item: segment_key_order(item[0]))
    counts = {(r[2], r[4]): r[6] for r in rows}
    from_run = rows[0][0] if rows else None
    under_model = rows[0][7] if rows else None
    head = "".join(f"<th>{label(k, n)}</th>" for k, n in tos)
    body = []
    for key, name in froms:
        total = sum(counts.get((key, t), 0) for t, _ in tos) or 1
        cells = []
        for to_key, _ in tos:
            count = counts.get((key, to_key), 0)
            alpha = round(0.85 * count / total, 3)
            cells.append(f'<td style="background: rgba(200, 30, 30, {alpha})">{count:,}</td>')
        body.append(f"<tr><th>{label(key, name)}</th>{''.join(cells)}<td>{total:,}</td></tr>")
    title = f"Segment transitions into run {run_id} (as of {html.escape(as_of)})"
    if rows:
        intro = (
            f"Customers per segment in run {from_run} (rows) and in run {run_id} (columns); shading is the "
            "share of the row. 'new_customer' had no row in the earlier run."
        )
        if under_model is not None:
            intro += (
                f" The model changed between the runs: run {from_run}'s customers are shown as model "
                f"v{under_model} (this run's) scores them, so every move is a customer's own."
            )
    else:
        intro = html.escape(note or "No earlier published run: nothing to compare with.")
    if renames:
        renamed = "; ".join(f"{key} {old!r} is now {new!r}" for key, old, new in renames)
        intro += html.escape(
            f" Renamed by model v{under_model}, because its customers no longer fit the inherited name: {renamed}."
        )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body {{ font-family: sans-serif; margin: 2em; }} table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: 6px 10px; text-align: right; }} th {{ background: #f4f4f4; }}</style>
</head><body><h1>{title}</h1><p>{intro}</p>
<table><tr><th>from \\ to</th>{head}<th>total</th></tr>{"".join(body)}</table></body></html>
"""


def transitions_path(settings: Settings, run_id: int) -> Path:
    """Stable path of the transitions page of a run (beside its drift reports)."""
    return settings.report_path / "drift" / f"run-{run_id}-transitions.html"
