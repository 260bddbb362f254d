"""How fresh the data is, in words, from the sync run log: what every page header shows."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel

Level = Literal["fresh", "stale", "failed", "running", "never"]


class Freshness(BaseModel):
    level: Level
    text: str
    error: str | None = None


def ago(then: datetime, now: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86_400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86_400} days ago"


def freshness(runs: list[dict[str, Any]], now: datetime, stale_after: timedelta) -> Freshness:
    """From sync_runs rows (oldest first): last success, and whether the newest run failed or runs."""
    if not runs:
        return Freshness(level="never", text="Not synced yet")
    newest = runs[-1]
    done = [r for r in runs if r["status"] == "succeeded" and r.get("finished_at")]
    last_ok = done[-1]["finished_at"] if done else None
    synced = f"synced {ago(last_ok, now)}" if last_ok else "never synced successfully"
    if newest["status"] == "running":
        return Freshness(level="running", text=f"Syncing now… ({synced})")
    if newest["status"] == "failed":
        return Freshness(level="failed", text=f"Last sync failed ({synced})",
                         error=newest.get("error") or "unknown error")
    if last_ok is None or now - last_ok > stale_after:
        return Freshness(level="stale", text=f"Data may be stale: {synced}")
    return Freshness(level="fresh", text=synced.capitalize())
