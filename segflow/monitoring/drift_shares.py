"""Drift maths on plain data: segment shares, PSI, Jensen-Shannon, the inactive share's shift and populations.

Populations: every segment key a customer carries is a population, the rule segments ('inactive': no purchase in
the lookback window; 'unscored') included, and shares are over ALL the run's customers, so they add to 1.
Customers leaving show as inactive growing, never as the clustered segments' shares quietly renormalising.

Customers new since the reference (in this run, not among the reference run's customers) are shown as a
population of their own, count and share of now. They do NOT enter PSI as a bucket: they have no share "then" by
definition, and an epsilon there would make every growing business drift every night (5 % new customers alone
would add 0.05 * ln(0.05 / 1e-4) = 0.31 to PSI). They are counted where they land, in the segments of now, so a
wave of new customers that changes the segment mix (all one-time buyers) still moves PSI.

Whether these figures make a drift is decided in one place: segflow.monitoring.verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from segflow.errors import SegflowError
from segflow.modelling.segments import INACTIVE, segment_key_order


@dataclass(eq=False)
class DriftInputInvalid(SegflowError):
    """A drift computation given a value outside its rule (a caller's mistake, named with the value)."""

    rule: str
    name: str  # the argument's name when the sentence shows name=value, else ""
    value: object
    quoted: bool = False

    def __str__(self) -> str:
        shown = f"{self.name}={self.value}" if self.name else (repr(self.value) if self.quoted else str(self.value))
        return f"{self.rule}, got {shown}"


@dataclass(eq=False)
class SegmentSharesInvalid(SegflowError):
    """A model's segment shares that do not add to a positive total."""

    template = "the model's segment shares add to {total}, not a distribution"
    total: float


_EPSILON = 1e-4  # shares of 0 would make PSI infinite
INACTIVE_KEY = INACTIVE[0]


@dataclass
class ShareDrift:
    """Segment shares now and in the reference, with PSI per segment and in all."""

    rows: list[dict[str, Any]]
    psi: float
    jensen_shannon: float


def share_drift(current: dict[str, float], reference: dict[str, float]) -> ShareDrift:
    """PSI (sum of (now - then) * ln(now / then)) and Jensen-Shannon distance over segment shares."""
    keys = sorted(set(current) | set(reference), key=segment_key_order)
    rows, psi = [], 0.0
    for key in keys:
        now, then = max(current.get(key, 0.0), _EPSILON), max(reference.get(key, 0.0), _EPSILON)
        term = (now - then) * math.log(now / then)
        psi += term
        rows.append(
            {
                "segment_key": key,
                "share_now": current.get(key, 0.0),
                "share_then": reference.get(key, 0.0),
                "psi": round(term, 6),
            }
        )
    p = [current.get(k, 0.0) for k in keys]
    q = [reference.get(k, 0.0) for k in keys]
    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]

    def kl(x: list[float], y: list[float]) -> float:
        return sum(a * math.log2(a / b) for a, b in zip(x, y, strict=True) if a > 0)

    js = math.sqrt(max(0.0, (kl(p, m) + kl(q, m)) / 2))
    return ShareDrift(rows=rows, psi=round(psi, 6), jensen_shannon=round(js, 6))


def percent(share: float) -> str:
    """'59.6 %': a share of all customers as the verdicts write it."""
    return f"{share * 100:.1f} %"


@dataclass(frozen=True)
class InactiveShift:
    """The share of all customers who are inactive, in the reference and now. Whether its rise is a drift is the
    verdict's to say (segflow.monitoring.verdict)."""

    share_then: float
    share_now: float

    @property
    def rise_points(self) -> float:
        return round((self.share_now - self.share_then) * 100, 9)  # no float noise at the threshold

    def text(self) -> str:
        """'inactive 0.3 % → 59.6 %'."""
        return f"{INACTIVE_KEY} {percent(self.share_then)} → {percent(self.share_now)}"


def inactive_shift(now: dict[str, float], then: dict[str, float]) -> InactiveShift:
    """The inactive share now and then (0 where a side has no inactive customer)."""
    return InactiveShift(then.get(INACTIVE_KEY, 0.0), now.get(INACTIVE_KEY, 0.0))


def scaled_training_shares(model_shares: dict[str, float], known: int, inactive: int) -> dict[str, float]:
    """A training run's shares of ALL its customers from the model's shares of its clustered ones: inactive is
    inactive / known, the model's segments share the rest in their own proportions."""
    if known <= 0:
        raise DriftInputInvalid("a training run needs customers to scale shares to", "customers_known", known)
    if not 0 <= inactive <= known:
        raise DriftInputInvalid(f"customers_inactive must be between 0 and customers_known={known}", "", inactive)
    total = sum(model_shares.values())
    if total <= 0:
        raise SegmentSharesInvalid(total)
    active = (known - inactive) / known
    shares = {key: share / total * active for key, share in model_shares.items()}
    if inactive:
        shares[INACTIVE_KEY] = inactive / known
    return shares


def over_keys(shares: dict[str, float], keys: set[str]) -> dict[str, float]:
    """The shares of the given keys only, renormalised to add to 1 (empty when none of them has customers)."""
    kept = {k: v for k, v in shares.items() if k in keys}
    total = sum(kept.values())
    return {k: v / total for k, v in kept.items()} if total > 0 else {}


def new_customers_cell(new_since_reference: int | None, customers_now: int | None) -> str:
    """'600 (6.7 % of now)', empty when not known (or no customer now)."""
    if new_since_reference is None or not customers_now:
        return ""
    return f"{new_since_reference:,} ({percent(new_since_reference / customers_now)} of now)"


@dataclass(frozen=True)
class Populations:
    """Customer counts behind the shares: all customers now and in the reference, and how many of now's were not
    customers of the reference run (None when that run's rows are gone or there is none)."""

    customers_now: int
    customers_then: int | None
    new_since_reference: int | None

    @property
    def new_share(self) -> float | None:
        if self.new_since_reference is None or self.customers_now == 0:
            return None
        return self.new_since_reference / self.customers_now

    def new_cell(self) -> str:
        """'600 (6.7 % of now)', empty when not known."""
        return new_customers_cell(self.new_since_reference, self.customers_now)

    def new_text(self) -> str:
        """'600 new since the reference (6.7 % of now)', or why it is not known."""
        if self.new_since_reference is None or self.new_share is None:
            return "new since the reference: not known (the reference run's customers are not kept)"
        return f"{self.new_since_reference:,} new since the reference ({percent(self.new_share)} of now)"
