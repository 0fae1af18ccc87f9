"""The one description of the BI views: docs/bi.md is generated from it, and it describes every column once."""

from pathlib import Path

import pytest

from segflow.serving import bi_catalog
from segflow.storage.migrations import VIEW_ORDER

DOCS = Path(__file__).resolve().parents[3] / "docs" / "bi.md"


def test_docs_bi_md_tables_are_the_catalogues():
    text = DOCS.read_text()
    assert bi_catalog.replace_generated_section(text) == text, "run `segflow db bi-docs docs/bi.md`"


def test_every_relation_has_its_view_file_and_unique_described_columns():
    assert sorted(f"bi_{name}" for name in bi_catalog.relation_names()) == sorted(
        v for v in VIEW_ORDER if v.startswith("bi_")
    )
    for relation in bi_catalog.RELATIONS:
        names = [c.name for c in relation.columns]
        assert len(names) == len(set(names)), relation.name
        assert all(c.description.strip() for c in relation.columns), relation.name


def test_the_generated_section_lists_relations_then_one_column_table_each():
    rendered = bi_catalog.render_markdown()
    assert rendered.count("\n### `") == 9
    assert "| `customer_share` | customers / all the run's known customers, a 0..1 fraction. |" in rendered


def test_a_document_without_markers_is_refused_by_marker():
    with pytest.raises(bi_catalog.MissingGeneratedSection, match="has no line '<!-- /bi-catalog -->'"):
        bi_catalog.replace_generated_section(f"# x\n{bi_catalog.DOCS_START}\n")
