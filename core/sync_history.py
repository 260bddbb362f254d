"""Sync runs as the overview lists them: newest first, with duration and the error in words."""
from __future__ import annotations

from typing import Any

import duckdb


def sync_history(db: duckdb.DuckDBPyConnection, limit: int = 20) -> list[dict[str, Any]]:
    rows = db.execute(
        """SELECT id, mode, status, started_at, finished_at,
                  round(epoch(finished_at) - epoch(started_at), 1) AS seconds, objects, requests, error
           FROM sync_runs ORDER BY id DESC LIMIT ?""", [limit]).fetchall()
    names = ["run", "mode", "status", "started (UTC)", "finished (UTC)", "seconds", "objects", "requests", "error"]
    return [dict(zip(names, row)) for row in rows]
