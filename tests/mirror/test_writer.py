"""The sync's single writer: groups commits to share DuckDB's per-commit cost, yet never holds up the run."""
from __future__ import annotations

import threading
from pathlib import Path

from core.mirror.store import Store
from core.mirror.sync import Write, Writer

CHARGE = {"id": "ch_writer_1", "object": "charge", "amount": 1234, "currency": "usd", "created": 1_700_000_000}


def test_flush_commits_at_once_instead_of_waiting_out_the_linger(tmp_path: Path) -> None:
    """The run's end waits on flush: a group lingering for company must notice it (here a minute's linger)."""
    with Store(tmp_path / "writer.duckdb") as store:
        errors: list[BaseException] = []
        writer = Writer(store, errors.append, linger=60.0)
        writer.start()
        writer.put(Write(rows=[("charges", "acct_writer", CHARGE)]))
        flushed = threading.Thread(target=writer.flush, daemon=True)
        flushed.start()
        flushed.join(timeout=15)
        assert not flushed.is_alive(), "flush waited for the group's linger"
        writer.stop()
        assert errors == []
        assert store.cursor().execute("SELECT id, amount FROM charges").fetchall() == [("ch_writer_1", 1234)]
