"""The explorer's tests read a copy of the session's synced demo mirror, locked down as the app's is.

The session's `synced_store` must stay as it is (other tests ATTACH copies from it), so the copy is a
file of its own: the full schema (every migration) with the mirror's rows, opened as the app opens its
store: `Store(...)` then `lock_down()`.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.mirror.schema import TABLES
from core.mirror.store import Store


def copy_mirror(synced_store: Store, path: Path) -> Path:
    """`path`: a new mirror with every migration applied and the synced demo's rows."""
    Store(path).close()
    cur = synced_store.cursor()
    cur.execute("ATTACH ? AS explore_copy", [str(path)])
    try:
        for table in (*TABLES, "account_disconnections", "sync_runs"):
            cur.execute(f"INSERT INTO explore_copy.{table} SELECT * FROM {table}")
    finally:
        cur.execute("DETACH explore_copy")
    return path


@pytest.fixture(scope="session")
def mirror_file(synced_store: Store, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_mirror(synced_store, tmp_path_factory.mktemp("explore") / "mirror.duckdb")


@pytest.fixture(scope="session")
def locked_store(mirror_file: Path) -> Iterator[Store]:
    """The demo mirror as the app holds it: one read-write connection, locked down."""
    store = Store(mirror_file)
    store.lock_down()
    yield store
    store.close()
