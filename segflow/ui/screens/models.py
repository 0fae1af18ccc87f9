"""Models: the registry, a version's metrics, segments and selection curves, and promotion with a confirmation."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from segflow.modelling import mlflow_mirror, registry
from segflow.monitoring.report import figures
from segflow.ui import common


def render() -> None:
    st.title("Models")
    if (promoted := st.session_state.pop("promoted", None)) is not None:
        st.success(f"Model v{promoted} is now the champion.")
    db = common.database()
    versions = registry.list_versions(db)
    if not versions:
        st.info("No model versions yet. Run `segflow run` (or `segflow demo`), then reload this page.")
        return
    listing = pd.DataFrame(versions)
    listing["features"] = listing["features"].map(", ".join)
    st.dataframe(
        listing,
        hide_index=True,
        column_config={
            "created_at": st.column_config.DatetimeColumn("created", format="YYYY-MM-DD HH:mm"),
            "as_of": "as of",
            "sample_size": st.column_config.NumberColumn("sample", format="localized"),
            "silhouette": st.column_config.NumberColumn(format="%.3f"),
        },
    )

    numbers = [v["version"] for v in versions]
    champion = next((v["version"] for v in versions if v["status"] == "champion"), None)
    version = st.selectbox(
        "Model version",
        numbers,
        index=numbers.index(champion) if champion in numbers else 0,
        format_func=lambda n: f"v{n}" + (" (champion)" if n == champion else ""),
        key="model_version",
    )
    details = registry.details(db, version)
    metrics = details["metrics"]
    st.subheader(f"Model v{version}: {details['algorithm']}, k={details['k']} ({details['status']})")
    st.caption(
        f"Trained as of {details['as_of']} on {details['sample_size']:,} customers, features "
        f"{', '.join(details['features'])}; {details['gates']['passed']} of {details['gates']['candidates']} "
        "candidates passed the quality gates."
    )
    columns = st.columns(4)
    columns[0].metric("silhouette", _metric(metrics.get("silhouette"), ".3f"))
    columns[1].metric("Davies-Bouldin", _metric(metrics.get("davies_bouldin"), ".3f"))
    columns[2].metric("Calinski-Harabasz", _metric(metrics.get("calinski_harabasz"), ",.0f"))
    columns[3].metric("smallest segment", _metric(metrics.get("min_share"), ".1%"))
    segments = pd.DataFrame(details["segments"])
    if not segments.empty:
        st.dataframe(
            segments[["key", "name", "size", "share", "action"]],
            hide_index=True,
            column_config={"share": st.column_config.NumberColumn("share of training sample", format="percent")},
        )
    st.subheader("Elbow and silhouette curves")
    figure = figures.selection_figure(details["candidates"], details["algorithm"], details["k"])
    if figure is None:
        st.info("No candidate metrics were recorded for this model.")
    else:
        st.caption("Every candidate fitted for this version; the star is the chosen one, crosses failed a gate.")
        st.plotly_chart(figure)

    st.subheader("Promote")
    if version == champion:
        st.write(f"Model v{version} is the champion.")
        return
    retires = f" and retires v{champion}" if champion else ""
    st.write(f"Promoting model v{version} makes it the champion{retires}; the next nightly run scores with it.")
    confirmed = st.checkbox(f"Yes, make model v{version} the champion", key="confirm_promote")
    if st.button("Promote", disabled=not confirmed, key="promote"):
        with common.shown_errors():
            registry.promote(db, version)
            mlflow_mirror.after_promotion(db, common.settings())  # off without a tracking URI; a failure only warns
            st.session_state["promoted"] = version
            st.rerun()


def _metric(value: float | None, pattern: str) -> str:
    return "n/a" if value is None else format(value, pattern)
