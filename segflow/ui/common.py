"""What every page shares: the settings and database (one per app process), cached models, and how a
segflow error is shown."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import streamlit as st

from segflow.errors import NoChampion, SegflowError
from segflow.modelling import registry
from segflow.modelling.segment_model import SegmentModel
from segflow.orchestration.runtime import open_database
from segflow.settings import Settings
from segflow.storage.db import Database
from segflow.ui import data


@st.cache_resource(show_spinner=False)
def _database() -> tuple[Settings, Database]:
    # Settings come from the environment `segflow ui` passed on; migrations are applied once per process.
    return open_database()


def settings() -> Settings:
    return _database()[0]


def database() -> Database:
    return _database()[1]


@st.cache_resource(show_spinner=False, max_entries=8)
def model(version: int) -> SegmentModel:
    """A model version's artifact, checked and loaded once per process (versions never change)."""
    return registry.load(database(), version)


@st.cache_resource(show_spinner=False, max_entries=4)
def customer_map(attempt_id: int, version: int) -> data.CustomerMap | None:
    """The map of a published attempt, drawn once per process: an attempt's assignments never change (a rerun
    of its date is a new attempt)."""
    db = database()
    return data.customer_map(db, settings(), attempt_id, model(version), data.run_segments(db, attempt_id))


# Every ASCII punctuation character: CommonMark shows any of them backslash-escaped as itself, so escaped text can
# form no link, image, autolink (`http\://`), emphasis, heading, HTML, LaTeX or Streamlit `:color[...]`/`:icon:`.
_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def literal(text: object) -> str:
    """`text` (a customer id, a file or column name, an error that quotes one) escaped so that Markdown shows it
    as typed: user-supplied text put in st.error, st.write and the like is never read as Markdown."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", str(text)).replace("\n", " ").replace("\r", " ")


# What the app adds to a library error's sentence, by type (the CLI's own table is segflow/cli/wording.py: its hints
# name options, which a page does not have). A type not listed shows its sentence alone.
APP_ADVICE: dict[type[SegflowError], str] = {
    NoChampion: "Run `segflow run` (or `segflow demo`) first, then reload this page.",
}


def worded(error: SegflowError) -> str:
    """A library error in the app's words, as Markdown: the library's sentence (which may quote what a user typed or
    uploaded) escaped, the app's advice not."""
    advice = APP_ADVICE.get(type(error))
    return f"{literal(error)}. {advice}" if advice else literal(error)


@contextmanager
def shown_errors() -> Iterator[None]:
    """Show a segflow error as an error box on the page instead of a traceback."""
    try:
        yield
    except SegflowError as error:
        st.error(worded(error))


def current_run_or_stop() -> dict:
    """The published run BI reads now; without one the page says what to do and stops."""
    run = data.current_run(database())
    if run is None:
        st.info("No run is published yet. Run `segflow run` (or `segflow demo`), then reload this page.")
        st.stop()
    return run


def segment_options(table: pd.DataFrame) -> dict[str, str]:
    """segment key -> 'S1 Champions' for select boxes, in a run_segments frame's order."""
    from segflow.monitoring.drift_page import segment_label

    return {k: segment_label(k, n) for k, n in zip(table["segment_key"], table["segment_name"], strict=True)}
