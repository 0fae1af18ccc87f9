"""When a run counts as drifted, and how many runs' report files are kept."""

from __future__ import annotations

from pydantic import BaseModel, Field


class MonitoringSettings(BaseModel):
    """Drift thresholds and report retention."""

    drift_psi_threshold: float = Field(
        default=0.2, gt=0, description="Segment-share PSI at or above which a run counts as drifted."
    )
    drift_share_threshold: float = Field(
        default=0.5, gt=0, le=1, description="Share of drifted features at or above which a run counts as drifted."
    )
    drift_inactive_rise: float = Field(
        default=5.0,
        gt=0,
        le=100,
        description="Rise of the inactive share of all customers, in share points (5: from 2 % to 7 %), at or "
        "above which a run counts as drifted, a verdict of its own ('inactive 2.0 % → 7.0 %').",
    )
    drift_sample: int = Field(
        default=20_000,
        ge=100,
        description="Customers in each run's stored sample (all of them when fewer), chosen by a seeded hash: what "
        "drift reports compare, the segment page maps and the summary's medians come from.",
    )
    report_retention_runs: int = Field(
        default=30,
        ge=0,
        description="Keep the report files (segment pages, drift reports) of this many newest published runs; "
        "0 keeps all. The same runs keep their drift samples; per-customer rows are kept by SEGFLOW_SCORED_RUNS_KEPT.",
    )
    scored_runs_kept: int = Field(
        # Two: the current run and the one before it (what a comparison and "since yesterday" read). Segments stay
        # exact for every published run (segment_ranges); drift reads each run's sample; the summary is per run.
        default=2,
        ge=0,
        description="Keep the per-customer rows (features, assignments) of the run BI reads, of this many newest "
        "published runs by as-of date and of every unfinished attempt; older attempts' tables are dropped after a "
        "publish. 0 keeps every published (and withdrawn) run's rows; replaced and failed attempts' rows always go.",
    )
