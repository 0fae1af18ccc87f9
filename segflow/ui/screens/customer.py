"""A customer: their features and segment in the current run, and their segment in every published run."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import streamlit as st

from segflow.data.attribute_names import feature_label
from segflow.serving.customers import customer_view
from segflow.ui import common

FEATURE_ROWS = (
    ("recency_days", "recency (days since the last purchase)"),
    ("frequency", "frequency (invoices in the look-back window)"),
    ("monetary", "monetary (revenue in the look-back window)"),
    ("tenure_days", "tenure (days since the first purchase)"),
    ("r_score", "R score (1-5)"),
    ("f_score", "F score (1-5)"),
    ("m_score", "M score (1-5)"),
    ("distance", "distance to the segment's centroid"),
    ("confidence", "confidence (0 on a border, 1 on the centroid)"),
)

HISTORY_LABELS = {
    "run_id": "run",
    "as_of": "as of",
    "segment_key": "key",
    "segment_name": "segment",
    "model_version": "model",
    "recency_days": "recency (days)",
    "is_current": "current run",
}


def render() -> None:
    st.title("Customer")
    # ?customer=ID opens the page on a customer, so a link (from a BI tool, say) can point at one.
    customer_id = st.text_input(
        "Customer id", value=st.query_params.get("customer", ""), key="customer_id", placeholder="e.g. C00042"
    ).strip()
    if not customer_id:
        st.caption("Type a customer's id to see their features, segment and history.")
        return
    with common.shown_errors():
        view = customer_view(common.database(), customer_id)
        now = view.current
        if now is None:
            st.warning(
                f"Customer {common.literal(customer_id)} is not in the current run; they were in earlier ones (below)."
            )
        else:
            st.subheader(f"{now['segment_name']} ({now['segment_key']})")
            st.write(
                f"In run {now['run_id']}, as of {now['as_of']}, by model v{now['model_version']}. "
                f"**Suggested action:** {now['action']}"
            )
            rows = [(label, _number(now[key])) for key, label in FEATURE_ROWS if now[key] is not None]
            # A model on customer attributes: the attributes it uses first, then the others loaded.
            rfm = {key for key, _ in FEATURE_ROWS}
            used = [(f"{feature_label(k)} ({k})", _number(v)) for k, v in view.model_features.items() if k not in rfm]
            others = [
                (f"{feature_label(k)} ({k}, not clustered on)", _number(v)) for k, v in view.other_attributes.items()
            ]
            rows = used + rows + others
            st.dataframe(pd.DataFrame(rows, columns=["feature", "value"]), hide_index=True)
        st.subheader("Segment history (published runs)")
        history = pd.DataFrame(view.history)
        if history.empty:
            st.write("No published run has segmented this customer.")
        else:
            st.dataframe(history, hide_index=True, column_config=HISTORY_LABELS)


def _number(value: object) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float | Decimal):
        return f"{value:,.3f}" if isinstance(value, float) else f"{value:,.2f}"
    return str(value)
