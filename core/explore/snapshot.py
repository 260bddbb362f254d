"""The explorer's own database: a read-only copy of the mirror's queryable tables, and nothing else.

The explorer's worker (core/explore/worker.py) opens this file, never the mirror: the audit log, notes,
risk reviews, tax overrides, saved queries, sync state and every sequence are simply not in it, so a
guard bug has nothing to leak (the second wall of core/explore/guard.py). The app's process holds the
mirror's write lock, which is the other reason a worker process cannot open the mirror itself.

The copy is named after a mark of the mirror's contents (row count and newest `synced_at` of each
queryable table): when a sync or an action changes a table, the next query makes a new copy and the
old ones are removed (a worker still reading one keeps its open file). Copies sit beside the mirror,
`<mirror>.explore.<mark>.duckdb`; a mirror in memory gets them in the temp folder.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from pathlib import Path

import duckdb

from core.explore.guard import QUERYABLE

BATCH_ROWS = 20_000
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _mark(cursor: duckdb.DuckDBPyConnection) -> str:
    """A digest that moves whenever a queryable table gains, loses or rewrites a row."""
    parts = []
    for name in QUERYABLE:
        newest = "disconnected_at" if name == "account_disconnections" else "synced_at"
        row = cursor.execute(f"SELECT count(*), CAST(max({newest}) AS VARCHAR) FROM {name}").fetchall()[0]
        parts.append(f"{name}:{row[0]}:{row[1]}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _base(mirror: str) -> Path:
    if mirror in ("", ":memory:") or mirror.startswith(":memory:"):
        return Path(tempfile.gettempdir()) / f"connect-ops-{os.getpid()}-memory"
    return Path(mirror)


def snapshot_for(cursor: duckdb.DuckDBPyConnection, mirror: str) -> Path:
    """The path of an up-to-date copy of the mirror's queryable tables (made now if need be)."""
    base = _base(mirror)
    mark = _mark(cursor)
    path = base.with_name(f"{base.name}.explore.{mark}.duckdb")
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(str(base), threading.Lock())
    with lock:
        if not path.is_file():
            _copy(cursor, path)
            for old in base.parent.glob(f"{base.name}.explore.*.duckdb"):
                if old != path:
                    old.unlink(missing_ok=True)
    return path


def _copy(cursor: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Write the queryable tables into a new file (via a temporary name, renamed when complete)."""
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    # A database of its own (the mirror's lock-down does not apply here); the copy streams, so little memory.
    target = duckdb.connect(str(tmp), config={"memory_limit": "512MB", "threads": 1})
    try:
        for name in QUERYABLE:
            source = cursor.cursor()  # a connection of its own: the reader streams while the target writes
            try:
                reader = source.sql(f"SELECT * FROM {name}").to_arrow_reader(BATCH_ROWS)
                target.register("snapshot_source", reader)
                try:
                    target.execute(f"CREATE TABLE {name} AS SELECT * FROM snapshot_source")
                finally:
                    target.unregister("snapshot_source")
            finally:
                source.close()
        target.execute("CHECKPOINT")
    finally:
        target.close()
    Path(str(tmp) + ".wal").unlink(missing_ok=True)
    os.replace(tmp, path)
