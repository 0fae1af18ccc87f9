"""Looking things up: `segflow segments`, `customer`, `score` (what-if), `drift` and `report`."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from segflow.cli.errors import NoDriftReport, OptionInvalid
from segflow.cli.output import console, database, load_settings, print_segment_table, value_text
from segflow.monitoring.drift_shares import new_customers_cell
from segflow.monitoring.verdict import stored_verdict_text, verdict_word

if TYPE_CHECKING:
    from segflow.serving.customers import CustomerView


def _verdict_line(label: str, drifted: bool, details: dict[str, Any]) -> str:
    """'training (model v1): drifted: inactive 0.0 % → 28.6 %, segment PSI 5.007, 100% of features drifted'."""
    verdict = stored_verdict_text(details)  # reports stored before inactive counted have none
    if verdict is None:
        return f"{label}: {verdict_word(drifted)}"
    return f"{label}: {verdict_word(drifted)}: {verdict}"


def _inactive_cell(details: dict[str, Any]) -> str:
    """'0.3 % → 59.6 %' (then → now), 'not compared' against a model with no training run."""
    if "inactive" not in details:
        return "(not counted)"  # stored before inactive counted
    inactive = details["inactive"]
    if inactive is None:
        return "not compared"
    return inactive["text"].removeprefix("inactive ")


def _new_cell(details: dict[str, Any]) -> str:
    return new_customers_cell(details.get("new_since_reference"), details.get("customers_now"))


def drift_command(
    run_id: Annotated[int | None, typer.Option("--run", help="Run id (default: the run BI reads now).")] = None,
) -> None:
    """Show a run's drift verdicts and report paths.

    Against the previous published run and against the model's training data.
    """
    from segflow.monitoring.drift_references import reports_for_run

    rows = reports_for_run(database(), run_id)
    if not rows:
        raise NoDriftReport(run_id)
    table = Table(title=f"drift of run {rows[0][0]} (as of {rows[0][1]}), shares of all customers")
    for column in (
        "reference",
        "drift",
        "inactive",
        "segment PSI",
        "segment JS",
        "features drifted",
        "largest change in share",
        "new since the reference",
    ):
        table.add_column(column, justify="left" if column in ("reference", "drift", "inactive") else "right")
    verdicts = []
    for _, _, reference, ref_run, ref_version, drifted, share, psi, js, _, details, under in rows:
        moved = max(details["segments"], key=lambda s: abs(s["share_now"] - s["share_then"]))
        label = f"previous (run {ref_run})" if reference == "previous" else f"training (model v{ref_version})"
        if under is not None:
            label += f", re-scored by v{under}"
        table.add_row(
            label,
            "[bold red]yes[/]" if drifted else "no",
            _inactive_cell(details),
            f"{psi:.3f}",
            f"{js:.3f}",
            f"{share:.0%}",
            f"{moved['segment_key']}: {moved['share_then']:.1%} → {moved['share_now']:.1%}",
            _new_cell(details),
        )
        verdicts.append(_verdict_line(label, drifted, details))
    console.print(table)
    for line in verdicts:
        console.print(line, highlight=False, soft_wrap=True)
    settings = load_settings()
    workspace = shlex.quote(str(settings.evidently_workspace_path))
    console.print(
        f"over nights: evidently ui --workspace {workspace} --host 127.0.0.1 --port 8000",
        highlight=False,
        soft_wrap=True,
    )
    for row in rows:
        gone = "" if Path(row[9]).exists() else " (file deleted by report retention, SEGFLOW_REPORT_RETENTION_RUNS)"
        console.print(f"report ({row[2]}): {row[9]}{gone}", highlight=False, soft_wrap=True)
    from segflow.monitoring.transitions import transitions_path

    console.print(f"transitions: {transitions_path(settings, rows[0][0])}", highlight=False, soft_wrap=True)


def report_command(
    run_id: Annotated[int | None, typer.Option("--run", help="Run id (default: the run BI reads now).")] = None,
) -> None:
    """Build a run's segment report; print its HTML path.

    One self-contained page that works offline; the path is the last line.
    """
    from segflow.monitoring.report import page

    settings = load_settings()
    db = database(settings)
    # Always rebuilt, never reused: a rerun of the run's date or a drift report written later changes what the page
    # shows, and building it takes seconds, so an existing page could only be stale.
    path = page.build_segment_report(db, settings, run_id)
    console.print(str(path), highlight=False, soft_wrap=True)


def segments_command(
    run_id: Annotated[int | None, typer.Option("--run", help="Run id (default: the run BI reads now).")] = None,
) -> None:
    """Show a run's segments: size, share, mean R/F/M."""
    from segflow.orchestration.runs import published_run

    db = database()
    run = published_run(db, run_id)
    print_segment_table(
        db, run["attempt_id"], f"segments of run {run['run_id']}, as of {run['as_of']} (model v{run['model_version']})"
    )


def customer_command(customer_id: Annotated[str, typer.Argument(help="The customer's id.")]) -> None:
    """Show a customer's features, segment and history."""
    from segflow.serving.customers import customer_view

    view = customer_view(database(), customer_id)
    now = view.current
    if now is None:
        console.print(f"customer {customer_id} is not in the current run (they were in earlier ones)")
    else:
        console.print(
            f"[bold]{customer_id}[/]: [bold]{now['segment_name']}[/] ({now['segment_key']}) in run "
            f"{now['run_id']}, as of {now['as_of']}, model v{now['model_version']}",
            highlight=False,
        )
        console.print(f"action: {now['action']}", highlight=False, soft_wrap=True)
        console.print(*(_attribute_tables(view, now) if view.uses_attributes else [_rfm_table(now)]))
    # A model on attributes has no recency, frequency or monetary: its history shows segments only.
    rfm = ("recency_days", "frequency", "monetary")
    with_rfm = not view.uses_attributes or any(row["frequency"] is not None for row in view.history)
    history = Table(title="segment history (published runs)")
    for column in (
        "as of",
        "run",
        "segment",
        "key",
        "model",
        *(("recency", "frequency", "monetary") if with_rfm else ()),
    ):
        history.add_column(column, justify="right" if column in ("run", "recency", "frequency", "monetary") else "left")
    for row in view.history:
        model = f"v{row['model_version']}" if row["model_version"] else ""
        cells = [str(row["as_of"]), str(row["run_id"]), row["segment_name"], row["segment_key"], model]
        history.add_row(*cells, *((value_text(row[c]) for c in rfm) if with_rfm else ()))
    console.print(history)


# The current row's columns that the customer's heading and action line already show; the features table shows
# every other column, in the query's order (queries/customers/customer_current_segment), so a column added there
# shows up here without a second list of them.
SHOWN_ABOVE = frozenset({"customer_id", "segment_key", "segment_name", "action", "model_version", "run_id", "as_of"})


def _rfm_table(now: dict[str, Any]) -> Table:
    table = Table(title="features as of " + str(now["as_of"]), show_header=False)
    table.add_column("feature")
    table.add_column("value", justify="right")
    for key, value in now.items():
        if key not in SHOWN_ABOVE:
            table.add_row(key.replace("_", " "), value_text(value))
    return table


def _attribute_tables(view: CustomerView, now: dict[str, Any]) -> list[Table]:
    """The attributes the model clusters on with distance and confidence; then the other attributes loaded."""
    from segflow.data.attribute_names import feature_label

    used = Table(title=f"what model v{now['model_version']} clusters on, as of {now['as_of']}")
    others = Table(title="other attributes loaded (not clustered on)", min_width=50)
    for table in (used, others):
        table.add_column("attribute")
        table.add_column("column")
        table.add_column("value", justify="right")
    for name, value in view.model_features.items():
        used.add_row(feature_label(name), name, _attribute_text(value))
    used.add_row("distance to the centroid", "", value_text(now["distance"]))
    used.add_row("confidence", "", value_text(now["confidence"]))
    for name, value in view.other_attributes.items():
        others.add_row(feature_label(name), name, _attribute_text(value))
    return [used, others] if view.other_attributes else [used]


def _attribute_text(value: object) -> str:
    # Attribute files hold whole numbers more often than not (age 31, income 56 k$): no decimals then.
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}" if isinstance(value, float) else value_text(value)


def score_command(
    recency: Annotated[float | None, typer.Option(help="Days since the last purchase.")] = None,
    frequency: Annotated[float | None, typer.Option(help="Invoices in the lookback window.")] = None,
    monetary: Annotated[float | None, typer.Option(help="Revenue in the lookback window.")] = None,
    feature: Annotated[
        list[str] | None, typer.Option("--feature", help="Any other model feature, NAME=VALUE (repeatable).")
    ] = None,
    model: Annotated[int | None, typer.Option("--model", help="Model version (default: the champion).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What-if: the segment the champion gives these features."""
    from segflow.serving.customers import what_if

    values = {
        name: value
        for name, value in (("recency_days", recency), ("frequency", frequency), ("monetary", monetary))
        if value is not None
    }
    for item in feature or []:
        name, sep, text = item.partition("=")
        try:
            if not sep:
                raise ValueError
            values[name.strip()] = float(text)
        except ValueError:
            raise OptionInvalid("--feature", item, "of the form NAME=NUMBER") from None
    prediction = what_if(database(), values, model)
    if as_json:
        sys.stdout.write(json.dumps(prediction.as_dict()) + "\n")
        return
    console.print(
        f"[bold]{prediction.segment_name}[/] ({prediction.segment_key}) by model "
        f"v{prediction.model_version}: distance {prediction.distance:.3f}, confidence "
        f"{prediction.confidence:.2f}",
        highlight=False,
    )
    if prediction.scores:
        console.print("R/F/M scores " + "/".join(str(v) for v in prediction.scores.values()), highlight=False)
    console.print(f"action: {prediction.action}", highlight=False, soft_wrap=True)
