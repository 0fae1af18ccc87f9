"""What-if: feature values in, the segment the champion would give them out, with the point on the map."""

from __future__ import annotations

import streamlit as st

from segflow.modelling import registry
from segflow.serving.customers import what_if
from segflow.ui import common, data


def render() -> None:
    st.title("What-if")
    db = common.database()
    run = common.current_run_or_stop()
    with common.shown_errors():
        version = registry.champion(db) or run["model_version"]
        model = common.model(version)
        defaults = data.model_feature_defaults(model)
        st.caption(
            f"Model v{version} (the champion) clusters on {', '.join(model.features)}. "
            "Start values are the mean of its segment centroids."
        )
        with st.form("what_if"):
            columns = st.columns(len(model.features))
            values = {
                feature: column.number_input(
                    feature.replace("_", " "), value=defaults[feature], step=1.0, format="%.2f", key=f"value_{feature}"
                )
                for column, feature in zip(columns, model.features, strict=True)
            }
            st.form_submit_button("Score")
        # Scored on every run: the start values give an answer at once, a submit scores the new ones.
        prediction = what_if(db, {k: float(v) for k, v in values.items()}, version)
        st.subheader(f"{prediction.segment_name} ({prediction.segment_key})")
        results = st.columns(3)
        results[0].metric("segment", prediction.segment_key)
        results[1].metric("distance to its centroid", f"{prediction.distance:.3f}")
        results[2].metric("confidence", f"{prediction.confidence:.2f}")
        st.write(f"**Suggested action:** {prediction.action}")
        if prediction.scores:
            st.write("R/F/M scores: " + " / ".join(str(v) for v in prediction.scores.values()))
        if version != run["model_version"]:
            st.info(f"The current run was scored by model v{run['model_version']}: no map for model v{version} yet.")
            return
        customer_map = common.customer_map(run["attempt_id"], version)
        if customer_map is not None:
            st.plotly_chart(data.with_point(customer_map, prediction.features, "what-if"))
