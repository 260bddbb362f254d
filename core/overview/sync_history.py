"""Sync runs as the overview lists them: newest first, with duration, the error in words, and what the
ledger check found (its lines in the run log, core/mirror/ledger_check.py)."""
from __future__ import annotations

from typing import Any

import duckdb

from core.mirror.ledger_check import LOG_PREFIX
from core.mirror.store import dict_rows


def sync_history(db: duckdb.DuckDBPyConnection, limit: int = 20) -> list[dict[str, Any]]:
    rows = dict_rows(db, """
        SELECT id AS run, mode, status, started_at AS "started (UTC)", finished_at AS "finished (UTC)",
               round(epoch(finished_at) - epoch(started_at), 1) AS seconds, objects, requests, error, log
        FROM sync_runs ORDER BY id DESC LIMIT ?""", [limit])
    for row in rows:
        row["ledger check"] = ledger_summary(row.pop("log"))
    return rows


def ledger_summary(log: str | None) -> str | None:
    """The ledger check's lines of a run log, the differences first (None: no check ran)."""
    lines = [line[len(LOG_PREFIX):].strip() for line in (log or "").splitlines() if line.startswith(LOG_PREFIX)]
    return " · ".join(lines[-1:] + lines[:-1]) if lines else None
