"""Errors the commands raise themselves (an option's value, the app's port, a failed check): their sentence is
already the command line's, so segflow/cli/wording.py lists them as worded where they are raised."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import TYPE_CHECKING

from segflow.errors import SegflowError

if TYPE_CHECKING:
    from segflow.modelling.scoring import MissingFeatureValues


@dataclasses.dataclass(eq=False)
class OptionInvalid(SegflowError):
    """An option's value that is not of the form the option takes."""

    template = "{option} {value!r} is not {form}"
    option: str
    value: str
    form: str  # "a date of the form YYYY-MM-DD", "of the form NAME=NUMBER"


@dataclasses.dataclass(eq=False)
class NoDriftReport(SegflowError):
    """No drift report for the run asked for (None: the current run)."""

    run_id: int | None

    def __str__(self) -> str:
        target = f"run {self.run_id}" if self.run_id is not None else "the current run"
        return f"no drift report for {target} (reports are made when a run is published)"


@dataclasses.dataclass(eq=False)
class AggregatesDiffer(SegflowError):
    """`segflow rebuild --check` found aggregates that differ from a full recompute."""

    as_of: date
    differing_customers: int
    customers: int
    examples: list[str]
    counts: dict[str, tuple[int, int]]  # name -> (from the aggregates, from the lines), only those that differ

    def __str__(self) -> str:
        differing = "; ".join(f"{name} {ours:,} vs {lines:,}" for name, (ours, lines) in self.counts.items())
        return (
            f"the aggregates differ from a full recompute as of {self.as_of}: {self.differing_customers:,} of "
            f"{self.customers:,} customers (e.g. {', '.join(self.examples) or 'none'})"
            + (f"; counts (aggregates vs lines): {differing}" if differing else "")
            + "; run `segflow rebuild`"
        )


@dataclasses.dataclass(eq=False)
class ScoreFileMissing(SegflowError):
    """The file given to score-file is not there."""

    template = "{path}: no such file"
    path: str


@dataclasses.dataclass(eq=False)
class RfmOnlyFromTransactions(SegflowError):
    """A model that needs more than RFM, given a transactions file (which gives RFM features only)."""

    missing: MissingFeatureValues

    def __str__(self) -> str:
        return (
            f"{self.missing.sentence()}: a transactions file gives RFM features only; "
            "score a file of the customers' features"
        )


@dataclasses.dataclass(eq=False)
class AppStopped(SegflowError):
    """The app's process ended with an error code."""

    template = "the app stopped with exit code {returncode}"
    returncode: int


@dataclasses.dataclass(eq=False)
class AppPortTaken(SegflowError):
    """The app's address cannot be bound."""

    template = (
        "cannot serve the app on {host}:{port}: {reason}; choose a free port with --port or "
        "SEGFLOW_UI_PORT (or another address with --host or SEGFLOW_UI_HOST)"
    )
    host: str
    port: int
    reason: str
