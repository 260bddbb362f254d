"""This machine's time, in one place: naive UTC datetimes, the form DuckDB's TIMESTAMP columns hold.

Only for bookkeeping (when we synced, when someone acted, how long ago that was). What Stripe's data
means in time (watermarks, "due", "pending until") comes from Stripe's own clock, never from here.
"""
from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Now in UTC, without a zone (DuckDB TIMESTAMP has none; ours is always UTC)."""
    return datetime.now(UTC).replace(tzinfo=None)
