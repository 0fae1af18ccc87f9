"""A segment's members in the current run: filter by feature ranges, look at them, download them as CSV."""

from __future__ import annotations

import math

import streamlit as st

from segflow.storage.csv_cells import csv_text
from segflow.ui import common, data

MAX_MEMBERS = 100_000  # rows read into the page at most; the page says when a segment is larger
FILTERS = ("recency_days", "frequency", "monetary", "tenure_days")


def render() -> None:
    st.title("Segment members")
    db = common.database()
    run = common.current_run_or_stop()
    table = data.run_segments(db, run["attempt_id"])
    options = common.segment_options(table)
    key = st.selectbox("Segment", list(options), format_func=options.__getitem__, key="segment")
    size = int(table.loc[table["segment_key"] == key, "customers"].iloc[0])
    members = data.segment_members(db, key, MAX_MEMBERS)
    st.caption(f"Run {run['run_id']}, as of {run['as_of']}: {size:,} customers in {options[key]}.")
    if size > len(members):
        st.warning(f"Showing the first {len(members):,} of {size:,} customers by id.")
    ranges = {}
    with st.expander("Filter by feature ranges", expanded=True):
        columns = st.columns(len(FILTERS))
        for column, feature in zip(columns, FILTERS, strict=True):
            values = members[feature].dropna()
            if values.empty or values.min() == values.max():
                continue
            low, high = math.floor(values.min()), math.ceil(values.max())
            ranges[feature] = column.slider(
                feature.replace("_", " "), float(low), float(high), (float(low), float(high)), key=f"range_{feature}"
            )
    shown = data.within_ranges(members, ranges)
    st.write(f"**{len(shown):,}** of {len(members):,} customers match.")
    st.dataframe(shown, hide_index=True)
    st.download_button(
        "Download these customers as CSV",
        csv_text(shown).encode("utf-8"),
        file_name=f"segment-{key}-run-{run['run_id']}.csv",
        mime="text/csv",
        on_click="ignore",
        key="download_members",
    )
