"""Holds the risk team put on an account, for every area that acts on one: an action that would undo a hold
is refused with its reason (a support agent changing the payout schedule of an account risk paused would
restart its payouts while the Risk page still says "paused").

The risk workflow (core/risk/actions.py) writes the holds; any area may read them from here (areas never
import each other).
"""
from __future__ import annotations

from datetime import datetime

import duckdb


def payout_hold(db: duckdb.DuckDBPyConnection, account_id: str) -> str | None:
    """Why this account's payout schedule may not be changed outside the Risk page, or None."""
    present = db.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'risk_payout_pauses'").fetchall()
    if not present[0][0]:
        return None
    rows = db.execute("SELECT paused_by, paused_at FROM risk_payout_pauses WHERE account_id = ?",
                      [account_id]).fetchall()
    if not rows:
        return None
    who, when = rows[0]
    day = f" on {when:%Y-%m-%d}" if isinstance(when, datetime) else ""
    return (f"Payouts of {account_id} are held by the risk team (paused by {who}{day}); its payout schedule "
            "changes only when risk resumes them on the Risk page.")
