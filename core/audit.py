"""The audit log: every action anyone took, who, when, on what, why, and what Stripe answered.

Append-only by construction: this module has an insert and reads, nothing that updates or deletes.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb
from pydantic import BaseModel

from core.auth import Actor
from core.clock import utc_now
from core.export import csv_text

COLUMNS = ("id", "occurred_at", "actor_email", "actor_role", "action", "account_id", "target_id", "params", "reason",
           "result", "error", "stripe_request_id", "idempotency_key", "demo")


class AuditRow(BaseModel):
    id: int
    occurred_at: datetime
    actor_email: str
    actor_role: str
    action: str
    account_id: str | None
    target_id: str | None
    params: dict[str, Any]
    reason: str | None
    result: str
    error: str | None
    stripe_request_id: str | None
    idempotency_key: str | None
    demo: bool




def record(conn: duckdb.DuckDBPyConnection, actor: Actor | None, action: str, *, account_id: str | None,
           target_id: str | None, params: dict[str, Any], reason: str | None, result: str,
           error: str | None = None, stripe_request_id: str | None = None,
           idempotency_key: str | None = None) -> int:
    """Append one row (inside the caller's transaction) and return its id."""
    row = conn.execute(
        """INSERT INTO audit_log (occurred_at, actor_email, actor_role, action, account_id, target_id, params, reason,
                                  result, error, stripe_request_id, idempotency_key, demo)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
        [utc_now(), actor.email if actor else "anonymous", actor.role.value if actor else "none", action,
         account_id, target_id, json.dumps(params, sort_keys=True, default=str), reason, result, error,
         stripe_request_id, idempotency_key, bool(actor and actor.demo)]).fetchone()
    assert row is not None
    return int(row[0])


def entries(db: duckdb.DuckDBPyConnection, *, actor: str | None = None, action: str | None = None,
            account_id: str | None = None, since: datetime | None = None, until: datetime | None = None,
            text: str | None = None, limit: int = 1000) -> list[AuditRow]:
    """Newest first; every filter optional, all parameterised. `text` looks in ids, reason and params."""
    where, args = ["TRUE"], []
    for column, value in (("actor_email", actor), ("action", action), ("account_id", account_id)):
        if value:
            where.append(f"{column} = ?")
            args.append(value)
    if since:
        where.append("occurred_at >= ?")
        args.append(since)
    if until:
        where.append("occurred_at < ?")
        args.append(until)
    if text and text.strip():
        where.append("(contains(lower(coalesce(target_id, '') || ' ' || coalesce(account_id, '') || ' ' || "
                     "coalesce(reason, '') || ' ' || CAST(params AS VARCHAR) || ' ' || coalesce(error, '')), ?))")
        args.append(text.strip().lower())
    rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM audit_log WHERE {' AND '.join(where)} "
                      "ORDER BY id DESC LIMIT ?", [*args, limit]).fetchall()
    return [AuditRow(**dict(zip(COLUMNS, row), params=json.loads(row[7] or "{}"))) for row in rows]


def entries_for_account(db: duckdb.DuckDBPyConnection, account_id: str) -> list[dict[str, Any]]:
    """A merchant's action history as table rows."""
    return [r.model_dump(exclude={"account_id", "idempotency_key"}) for r in entries(db, account_id=account_id)]


def distinct_values(db: duckdb.DuckDBPyConnection, column: str) -> list[str]:
    """Choices for the audit page's filters."""
    if column not in ("actor_email", "action"):
        raise ValueError(column)
    return [r[0] for r in db.execute(f"SELECT DISTINCT {column} FROM audit_log ORDER BY 1").fetchall()]


def to_csv(rows: list[AuditRow]) -> str:
    """The filtered log for a spreadsheet (reasons and params are typed by people: made inert there)."""
    def cells(row: AuditRow) -> list[Any]:
        data = row.model_dump()
        data["params"] = json.dumps(data["params"], sort_keys=True)
        return [data[c] for c in COLUMNS]

    return csv_text(COLUMNS, (cells(row) for row in rows))


class Note(BaseModel):
    id: int
    created_at: datetime
    author_email: str
    body: str


def notes(db: duckdb.DuckDBPyConnection, account_id: str) -> list[Note]:
    rows = db.execute("SELECT id, created_at, author_email, body FROM account_notes WHERE account_id = ? ORDER BY id DESC",
                      [account_id]).fetchall()
    return [Note(id=r[0], created_at=r[1], author_email=r[2], body=r[3]) for r in rows]
