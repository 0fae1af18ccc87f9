"""Overview: the current run, its segments (names, sizes, revenue share, actions) and the customer map."""

from __future__ import annotations

import streamlit as st

from segflow.modelling import registry
from segflow.ui import common, data


def render() -> None:
    st.title("Overview")
    db = common.database()
    run = common.current_run_or_stop()
    details = registry.details(db, run["model_version"])
    table = data.run_segments(db, run["attempt_id"])
    clustered = table.loc[table["segment_key"].str.fullmatch(r"S\d+"), "customers"].sum()
    st.caption(f"Run {run['run_id']}, as of {run['as_of']}: what BI tools read now.")
    columns = st.columns(4)
    columns[0].metric("as of", str(run["as_of"]))
    columns[1].metric(
        "model", f"v{run['model_version']}", f"{details['algorithm']}, k={details['k']}", "off", delta_arrow="off"
    )
    columns[2].metric(
        "customers", f"{run['customers_known'] or 0:,}", f"{clustered:,} clustered", "off", delta_arrow="off"
    )
    columns[3].metric("segments", f"{len(table)}")

    st.subheader("Segments")
    st.dataframe(
        table[["segment_key", "segment_name", "customers", "share", "revenue_share", "action"]],
        hide_index=True,
        column_config={
            "segment_key": "key",
            "segment_name": "segment",
            "customers": st.column_config.NumberColumn("customers", format="localized"),
            "share": st.column_config.ProgressColumn("share of customers", format="percent", min_value=0, max_value=1),
            "revenue_share": st.column_config.ProgressColumn(
                "share of revenue", format="percent", min_value=0, max_value=1
            ),
            "action": st.column_config.TextColumn("suggested action", width="large"),
        },
    )

    st.subheader("Customer map")
    with common.shown_errors():
        customer_map = common.customer_map(run["attempt_id"], run["model_version"])
        if customer_map is None:
            st.info(
                f"The map is not available for this run: too few of its customers have all of model "
                f"v{run['model_version']}'s features ({', '.join(details['features'])})."
            )
        else:
            st.caption(
                "A sample of the run's clustered customers (the axes say what they are); diamonds are the segment "
                "centroids."
            )
            st.plotly_chart(customer_map.figure)
