"""Batch scoring: upload a CSV of customers, map its columns to the model's features, download it scored."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from segflow import registry
from segflow.csv_cells import csv_text
from segflow.scoring import Scorer
from segflow.ui import common, data


@st.cache_resource(show_spinner=False, max_entries=4)
def _scorer(version: int) -> Scorer:
    return Scorer.load(common.database(), version)


def render() -> None:
    st.title("Batch scoring")
    db = common.database()
    with common.shown_errors():
        version = registry.champion(db)
        if version is None:
            st.info("No champion model yet. Run `segflow run` (or `segflow demo`), then reload this page.")
            return
        scorer = _scorer(version)
        st.caption(
            f"Model v{version} (the champion) scores on {', '.join(scorer.features)}. Upload a CSV with a header; "
            "other columns (an id, say) are kept in the scored file."
        )
        limit_mb = common.settings().ui_max_upload_mb
        upload = st.file_uploader("CSV of customers", type=["csv"], key="upload", max_upload_size=limit_mb)
        if upload is None:
            return
        name = common.literal(upload.name)
        if upload.size > limit_mb << 20:
            # Streamlit refuses it first when served by `segflow ui`; said here too for any other way in.
            st.error(
                f"{name} is {upload.size / (1 << 20):,.1f} MB; this page takes at most {limit_mb} MB "
                "(`SEGFLOW_UI_MAX_UPLOAD_MB`)."
            )
            return
        try:
            # As text: the scorer checks each value and names the bad ones row by row. Read from the upload itself,
            # not a copy of its bytes.
            raw = pd.read_csv(upload, dtype=str, keep_default_na=False)
        except (ValueError, UnicodeDecodeError) as exc:
            st.error(f"{name} is not a CSV file this page can read: {common.literal(exc)}")
            return
        st.write(f"{name}: {len(raw):,} rows, columns {common.literal(', '.join(map(str, raw.columns)))}")
        st.subheader("Map the file's columns to the model's features")
        columns = list(raw.columns)
        picks = st.columns(len(scorer.features))
        mapping = {
            feature: pick.selectbox(
                feature.replace("_", " "),
                columns,
                index=columns.index(feature) if feature in columns else None,
                placeholder="choose a column",
                key=f"map_{feature}",
            )
            for pick, feature in zip(picks, scorer.features, strict=True)
        }
        unmapped = [feature for feature, column in mapping.items() if column is None]
        if unmapped:
            st.info(f"Choose the file's column for {', '.join(unmapped)}.")
            return
        if not st.button("Score", key="score", type="primary"):
            return
        batch = scorer.score(data.map_columns(raw, {f: str(c) for f, c in mapping.items()}))
        st.success(f"Scored {len(batch.rows):,} of {len(raw):,} rows with model v{version}.")
        if batch.errors:
            st.error(f"{len(batch.errors):,} row(s) could not be scored:")
            st.dataframe(
                pd.DataFrame([(e.row, e.message) for e in batch.errors], columns=["row", "problem"]),
                hide_index=True,
            )
        st.dataframe(batch.rows.head(1_000), hide_index=True)
        st.download_button(
            "Download the scored CSV",
            csv_text(batch.rows).encode("utf-8"),
            file_name=upload.name.removesuffix(".csv") + "-scored.csv",
            mime="text/csv",
            on_click="ignore",
            key="download_scored",
        )
