"""Sync runs as the overview lists them: newest first, with duration and the error in words."""
from __future__ import annotations

from typing import Any

import duckdb

from core.mirror.store import dict_rows


def sync_history(db: duckdb.DuckDBPyConnection, limit: int = 20) -> list[dict[str, Any]]:
    return dict_rows(db, """
        SELECT id AS run, mode, status, started_at AS "started (UTC)", finished_at AS "finished (UTC)",
               round(epoch(finished_at) - epoch(started_at), 1) AS seconds, objects, requests, error
        FROM sync_runs ORDER BY id DESC LIMIT ?""", [limit])
