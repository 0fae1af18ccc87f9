"""Every segflow error carries its facts as fields, and the CLI's wording table covers every error type."""

import importlib
import pickle
import pkgutil
from datetime import date

import segflow
from segflow.errors import SegflowError


def all_error_types() -> set[type[SegflowError]]:
    """Every SegflowError subclass in segflow, after importing every module (the app's pages and the flows'
    Prefect-only modules aside, which define none)."""
    for module in pkgutil.walk_packages(segflow.__path__, "segflow."):
        if not module.name.startswith(("segflow.ui", "segflow.__main__")):
            importlib.import_module(module.name)
    found: set[type[SegflowError]] = set()
    pending = [SegflowError]
    while pending:
        cls = pending.pop()
        found.add(cls)
        pending.extend(cls.__subclasses__())
    return {cls for cls in found if cls.__module__.startswith("segflow")}


def test_the_wording_table_covers_every_error_type_or_leaves_it_to_the_library_on_purpose():
    from segflow.cli.wording import LIBRARY_SENTENCE, WORDING

    types = all_error_types()
    assert len(types) > 90  # the walk found the errors beside their domains, not only segflow/errors.py
    uncovered = sorted(cls.__qualname__ for cls in types - set(WORDING) - LIBRARY_SENTENCE)
    assert not uncovered, f"error types neither worded nor listed as the library's sentence: {uncovered}"
    both = sorted(cls.__qualname__ for cls in set(WORDING) & LIBRARY_SENTENCE)
    assert not both, f"error types both worded and left to the library: {both}"


def test_no_library_sentence_template_names_a_cli_flag():
    from segflow.cli.errors import AppPortTaken

    library = {cls for cls in all_error_types() if not cls.__module__.startswith("segflow.cli")}
    flagged = sorted(cls.__qualname__ for cls in library if " --" in cls.template)
    assert not flagged
    assert " --" in AppPortTaken.template  # the check would see one


def test_an_error_carries_its_facts_and_its_sentence_is_built_from_them():
    from segflow.data.ingest.files import NotInEncoding
    from segflow.data.ingest.layouts import OtherDelimiter
    from segflow.stages.prepare import StaleSource

    stale = StaleSource("shop.lines", date(2025, 1, 1), date(2025, 1, 9), 3)
    assert stale.facts() == {
        "source_table": "shop.lines",
        "newest_day": date(2025, 1, 1),
        "as_of": date(2025, 1, 9),
        "max_lag_days": 3,
        "setting": "SEGFLOW_MAX_SOURCE_LAG_DAYS",
        "lag_days": 8,
    }
    assert str(stale) == (
        "the source shop.lines is stale: its newest line is 2025-01-01, 8 days before the as-of date 2025-01-09 "
        "(SEGFLOW_MAX_SOURCE_LAG_DAYS is 3)"
    )
    assert (
        str(NotInEncoding("a.csv", "utf-8"))
        == "a.csv: not valid utf-8 text; read it with its own encoding (e.g. latin-1)"
    )
    delimiter = OtherDelimiter("a.csv", ";", ",")
    assert (delimiter.file, delimiter.found, delimiter.delimiter) == ("a.csv", ";", ",")
    assert str(delimiter) == "a.csv: the header has one column; the file seems to use ';' as delimiter, not ','"


def test_an_error_survives_pickling_with_its_fields():
    # Prefect pickles a task's exception into its state: the fields and the sentence must come back.
    from segflow.errors import ImportFailed

    failed = ImportFailed("a.csv", "custom", 4, {"unparseable_date": 4}, [(2, "unparseable_date", "x", "raw")], 0.1)
    failed.batch_id = 7
    back = pickle.loads(pickle.dumps(failed))
    assert type(back) is ImportFailed and back.facts() == failed.facts()
    assert str(back) == (
        "a.csv: all 4 lines were rejected: unparseable_date 4 (first: line 2, x); nothing was loaded; "
        "recorded as failed batch 7"
    )
