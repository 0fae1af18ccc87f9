"""Batch scoring: upload a CSV of customers, map its columns to the model's features, download it scored."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from segflow.errors import SegflowError
from segflow.modelling import registry
from segflow.modelling.scoring import Scorer
from segflow.serving.uploads import ScoredUpload, UploadLimits, header_columns, score_upload
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
        limits = UploadLimits(common.settings().upload_max_columns, common.settings().upload_max_line_bytes)
        try:
            # Only the header now: the rows are read chunk by chunk when scored, never as one frame.
            columns = header_columns(upload, upload.name, limits)
        except SegflowError as exc:  # too wide, a line too long, or not CSV text
            st.error(common.worded(exc))
            return
        st.write(f"{name}: {upload.size:,} bytes, columns {common.literal(', '.join(columns))}")
        st.subheader("Map the file's columns to the model's features")
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
        chosen = {f: str(c) for f, c in mapping.items()}
        upload.seek(0)
        try:
            result = score_upload(
                scorer, upload, upload.name, limits, prepare=lambda chunk: data.map_columns(chunk, chosen)
            )
        except SegflowError as exc:
            st.error(common.worded(exc))
            return
        _show(result, version, upload.name)


def _show(result: ScoredUpload, version: int, file_name: str) -> None:
    """The counts, the first errors and rows, and the scored file to download (Streamlit keeps the download's bytes
    in memory: about the upload's size again, on top of it)."""
    st.success(f"Scored {result.rows_scored:,} of {result.rows_read:,} rows with model v{version}.")
    if result.row_errors:
        shown = "" if result.row_errors <= len(result.first_errors) else f" (the first {len(result.first_errors)})"
        st.error(f"{result.row_errors:,} row(s) could not be scored{shown}:")
        st.dataframe(
            pd.DataFrame([(e.row, e.message) for e in result.first_errors], columns=["row", "problem"]),
            hide_index=True,
        )
    st.dataframe(result.first_rows, hide_index=True)
    with result.body:
        st.download_button(
            "Download the scored CSV",
            result.body.read(),
            file_name=file_name.removesuffix(".csv") + "-scored.csv",
            mime="text/csv",
            on_click="ignore",
            key="download_scored",
        )
