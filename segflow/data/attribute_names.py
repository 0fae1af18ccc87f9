"""Names and actions for segments of customer attributes, in the words a marketer uses.

A segment's centroid in model space says, per feature, how many standard deviations its customers sit from the
average customer. Each feature gets a level from that (high, average, low), a readable label from its column name
(`annual_income_k` -> "income"), and the levels make the name: "High income, low spending". The action comes from
a small rule table when the segment is placed on income and spending (the pair the Mall-style data is about), and
otherwise says what sets the segment apart.
"""

from __future__ import annotations

import pandas as pd

# Half a standard deviation either side of the average customer is "average". A segment whose mean is half a
# standard deviation above everyone's is a difference a marketer sees in a table (in the Mall-style data: 13k$ of
# income, 13 points of spending score); a band of +-1 would call the clear high-income groups there (about +1.0)
# "average" half the time, and a narrower band would call the middle group high or low by noise.
LEVEL_THRESHOLD = 0.5
LEVELS = ("high", "average", "low")

# Tokens of a column name that are units or scales, not meaning: "annual_income_k" is income in k$,
# "spending_score_1_100" a score from 1 to 100. Numbers are dropped too.
UNIT_TOKENS = frozenset(
    {"k", "m", "mn", "usd", "eur", "gbp", "chf", "jpy", "pct", "percent", "perc", "yrs", "years", "yr"}
)
# Words that only dress up a known word: "annual income", "spending score", "household income".
DRESSING = frozenset({"annual", "yearly", "monthly", "household", "total", "score", "level", "customer", "estimated"})
# Column words a marketer has a word of their own for.
KNOWN_WORDS = {
    "income": "income",
    "salary": "income",
    "earnings": "income",
    "spending": "spending",
    "spend": "spending",
    "spent": "spending",
    "age": "age",
    "tenure": "tenure",
    "visits": "visits",
}
# Labels named by the level alone: an older segment is "Older", not "High age".
LEVEL_WORDS = {"age": {"high": "older", "average": "middle-aged", "low": "young"}}

# What to do, by (income level, spending level); None when the model does not cluster on income.
INCOME_SPENDING_ACTIONS: dict[tuple[str | None, str], str] = {
    ("high", "high"): "Keep them close: premium ranges, early access and a loyalty tier with real perks.",
    ("high", "average"): "Upsell: premium lines and bundles, they can afford more than they buy now.",
    ("high", "low"): "Find out what keeps them from buying: premium offers, personal outreach.",
    ("average", "high"): "Reward loyalty and cross-sell: they already buy well, give them reasons to stay.",
    ("average", "average"): "Nurture: the regular newsletter, seasonal offers and cross-sell recommendations.",
    ("average", "low"): "Activate: a targeted offer on what they browse, and a reminder of what they are missing.",
    ("low", "high"): "Reward loyalty, bundle value offers: they spend beyond their means, keep them with value.",
    ("low", "average"): "Value offers and loyalty points keep them buying; avoid premium pushes.",
    ("low", "low"): "Low-cost reach only: price-led promotions and essentials, no expensive campaigns.",
    (None, "high"): "Reward and retain: loyalty perks, early access, ask for reviews.",
    (None, "average"): "Nurture: the regular newsletter, seasonal offers and cross-sell recommendations.",
    (None, "low"): "Activate: a targeted first offer, then measure whether they respond.",
}
TYPICAL_ACTION = "A typical group: keep them in the regular programme and try new offers on them first."


def feature_label(column: str) -> str:
    """A feature's readable label in lower case: 'annual_income_k' -> 'income', 'visits_per_month' -> 'visits per
    month'; known words from a small table, otherwise the column's words without units and scales."""
    words = [t for t in column.lower().split("_") if t and not t.isdigit() and t not in UNIT_TOKENS]
    meaning = [w for w in words if w not in DRESSING]
    if len(meaning) == 1 and meaning[0] in KNOWN_WORDS:
        return KNOWN_WORDS[meaning[0]]
    return " ".join(words) if words else column.replace("_", " ")


def feature_title(column: str) -> str:
    """The label capitalised, for a table heading: 'annual_income_k' -> 'Income'."""
    label = feature_label(column)
    return label[:1].upper() + label[1:]


def level_of(z: float) -> str:
    """'high', 'average' or 'low' for a centroid coordinate in standard deviations from the average customer."""
    return "high" if z > LEVEL_THRESHOLD else "low" if z < -LEVEL_THRESHOLD else "average"


def name_attribute_segments(centroids_z: pd.DataFrame, taken: frozenset[str] = frozenset()) -> pd.DataFrame:
    """Unique names and actions for segments (rows, index: segment key) from their standardised centroids
    (columns: features).

    Segments whose levels give the same name are told apart by the feature on which they differ most, in order
    of it: "High income, high spending (higher spending)" and "(lower spending)". A name in `taken` (kept by a
    segment of an earlier model) gets " (new)".
    """
    labels = _unique_labels(list(centroids_z.columns))
    levels = centroids_z.apply(lambda column: column.map(level_of))
    names = pd.Series(
        [_name(labels, dict(row)) for _, row in levels.iterrows()], index=centroids_z.index, dtype="object"
    )
    for _, same in names.groupby(names):
        if len(same) > 1:
            names[same.index] = _told_apart(centroids_z.loc[same.index], labels, same.iloc[0])
    names = names.map(lambda name: f"{name} (new)" if name in taken else name)
    actions = [_action(labels, dict(row)) for _, row in levels.iterrows()]
    return pd.DataFrame({"name": names.to_list(), "action": actions}, index=centroids_z.index)


def _unique_labels(columns: list[str]) -> dict[str, str]:
    # Two columns with one label ("income" and "household_income_k") would give "high income, low income": those
    # keep their own words.
    labels = {c: feature_label(c) for c in columns}
    shared = {label for label in labels.values() if list(labels.values()).count(label) > 1}
    return {c: (c.replace("_", " ") if label in shared else label) for c, label in labels.items()}


def _part(label: str, level: str) -> str:
    return LEVEL_WORDS[label][level] if label in LEVEL_WORDS else f"{level} {label}"


def _name(labels: dict[str, str], levels: dict[str, str]) -> str:
    text = ", ".join(_part(labels[feature], level) for feature, level in levels.items())
    return text[:1].upper() + text[1:]


def _told_apart(centroids: pd.DataFrame, labels: dict[str, str], name: str) -> list[str]:
    """The same name for each row, followed by its rank on the feature the rows differ most on."""
    feature = str((centroids.max() - centroids.min()).idxmax())
    label = labels[feature]
    order = centroids[feature].rank(method="first", ascending=False).astype(int).to_list()
    count = len(centroids)
    if count == 2:
        words = {1: f"higher {label}", 2: f"lower {label}"}
    else:
        words = {rank: f"{_ordinal(rank)} highest {label}" for rank in range(2, count)}
        words |= {1: f"highest {label}", count: f"lowest {label}"}
    return [f"{name} ({words[rank]})" for rank in order]


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _action(labels: dict[str, str], levels: dict[str, str]) -> str:
    by_label = {labels[feature]: level for feature, level in levels.items()}
    if "spending" in by_label:
        return INCOME_SPENDING_ACTIONS[(by_label.get("income"), by_label["spending"])]
    notable = [_part(labels[feature], level) for feature, level in levels.items() if level != "average"]
    if not notable:
        return TYPICAL_ACTION
    return (
        f"Build the offer around what sets them apart ({', '.join(notable)}) and test it against the regular programme."
    )
