"""The schema browser: every queryable table and column, its type from the database and a one-line meaning."""
from __future__ import annotations

import pytest

from core.explore import schema
from core.explore.guard import QUERYABLE
from core.mirror.store import Store


def test_every_column_of_every_queryable_table_has_a_meaning(locked_store: Store) -> None:
    tables = schema.tables(locked_store.cursor())
    assert [t.name for t in tables] == list(QUERYABLE)
    missing = [f"{t.name}.{c.name}" for t in tables for c in t.columns if not c.meaning]
    assert not missing, f"add a line to core/explore/schema.py for: {', '.join(missing)}"
    assert all(t.meaning for t in tables)
    charges = next(t for t in tables if t.name == "charges")
    types = {c.name: c.type for c in charges.columns}
    assert types["amount"] == "BIGINT" and types["raw"] == "JSON" and types["created"] == "TIMESTAMP"
    assert charges.rows > 0


def test_no_meaning_is_left_for_a_column_that_is_gone(locked_store: Store) -> None:
    columns = {(t.name, c.name) for t in schema.tables(locked_store.cursor()) for c in t.columns}
    stale = [f"{t}.{c}" for t, cols in schema.COLUMN_MEANINGS.items() for c in cols if (t, c) not in columns]
    assert not stale


def test_example_rows(locked_store: Store) -> None:
    frame = schema.examples(locked_store.cursor(), "charges")
    assert 0 < len(frame) <= schema.EXAMPLE_ROWS
    assert all(len(v) <= schema.RAW_PREVIEW + 1 for v in frame["raw"])
    with pytest.raises(ValueError):
        schema.examples(locked_store.cursor(), "audit_log")
