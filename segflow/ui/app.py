"""The app's entry point, run by `streamlit run` (see `segflow ui`): the page list, in the order a reader
meets them. Each page is a module of segflow/ui/screens with a `render()`."""

from __future__ import annotations

import streamlit as st

from segflow.ui.screens import batch, customer, drift, members, models, overview, what_if

PAGES = [
    st.Page(overview.render, title="Overview", url_path="overview", default=True),
    st.Page(members.render, title="Segment members", url_path="members"),
    st.Page(customer.render, title="Customer", url_path="customer"),
    st.Page(what_if.render, title="What-if", url_path="what-if"),
    st.Page(batch.render, title="Batch scoring", url_path="batch"),
    st.Page(drift.render, title="Drift over nights", url_path="drift"),
    st.Page(models.render, title="Models", url_path="models"),
]

st.set_page_config(page_title="segflow", layout="wide")
st.navigation(PAGES).run()
