"""Saved queries: a name, its owner, the SQL and a description, kept in DuckDB (`explore_queries`).

Everyone who may open the explorer can list, open, copy and run every saved query; each has a
shareable URL, the explorer's page with `?query=<id>` (starter queries are opened the same way by
their key). Only the owner, or an admin, may change or delete one. A query is saved only if the
guard would run it, so nobody shares a query that is refused. Saving and deleting are audited.
"""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import duckdb
from pydantic import BaseModel

from core import audit
from core.auth import Actor, PermissionDenied, Role, require
from core.clock import utc_now
from core.explore.guard import QueryRefused
from core.explore.run import guard
from core.mirror.store import dict_rows

NAME_MAX = 120
DESCRIPTION_MAX = 2_000
SQL_MAX = 100_000
ID_PREFIX = "q_"


class SavedQuery(BaseModel):
    id: str
    name: str
    owner_email: str
    sql: str
    description: str | None = None
    created_at: datetime
    updated_at: datetime


def list_queries(db: duckdb.DuckDBPyConnection) -> list[SavedQuery]:
    """Every saved query, the most recently changed first."""
    return [SavedQuery(**row) for row in dict_rows(db, "SELECT * FROM explore_queries ORDER BY updated_at DESC, id")]


def get(db: duckdb.DuckDBPyConnection, query_id: str) -> SavedQuery | None:
    rows = dict_rows(db, "SELECT * FROM explore_queries WHERE id = ?", [query_id])
    return SavedQuery(**rows[0]) if rows else None


def may_change(actor: Actor, query: SavedQuery) -> bool:
    return not actor.read_only and (actor.role == Role.ADMIN or actor.email.lower() == query.owner_email.lower())


def save(store: Any, actor: Actor, name: str, sql: str, description: str | None = None, *,
         query_id: str | None = None) -> SavedQuery:
    """A new saved query owned by `actor` (query_id None), or a change to the one `query_id` names.

    Raises ValueError for a missing name or SQL, QueryRefused for SQL the explorer would not run, and
    PermissionDenied for someone else's query (admins may change any); every refusal is audited.
    """
    _require(store, actor, "explore_save_query", query_id)
    if actor.read_only:
        _refuse(store, actor, "explore_save_query", query_id,
                "the app is read-only (a real Stripe key without sign-in): nobody can save queries")
    name, sql = (name or "").strip(), (sql or "").strip()
    description = (description or "").strip() or None
    if not name:
        raise ValueError("give the query a name")
    if len(name) > NAME_MAX:
        raise ValueError(f"the name is {len(name)} characters long; {NAME_MAX} at most")
    if description and len(description) > DESCRIPTION_MAX:
        raise ValueError(f"the description is {len(description)} characters long; {DESCRIPTION_MAX} at most")
    if len(sql) > SQL_MAX:
        raise ValueError(f"the SQL is {len(sql):,} characters long; {SQL_MAX:,} at most")
    cursor = store.cursor()
    try:
        guard(cursor, sql)  # QueryRefused (empty, not a SELECT, another table...) before anything is written
        existing = get(cursor, query_id) if query_id else None
    finally:
        cursor.close()
    if query_id and existing is None:
        raise ValueError(f"no saved query {query_id}")
    if existing is not None and not may_change(actor, existing):
        _refuse(store, actor, "explore_save_query", query_id,
                f"{actor.email} may not change {existing.owner_email}'s query; save a copy instead")
    now = utc_now()
    with store.transaction() as conn:
        if existing is None:
            query_id = ID_PREFIX + secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")
            conn.execute("INSERT INTO explore_queries VALUES (?, ?, ?, ?, ?, ?, ?)",
                         [query_id, name, actor.email, sql, description, now, now])
        else:
            conn.execute("UPDATE explore_queries SET name = ?, sql = ?, description = ?, updated_at = ? WHERE id = ?",
                         [name, sql, description, now, query_id])
        audit.record(conn, actor, "explore_save_query", account_id=None, target_id=query_id,
                     params={"name": name, "sql": sql, "description": description, "new": existing is None},
                     reason=None, result="succeeded")
    cursor = store.cursor()
    try:
        saved = get(cursor, str(query_id))
    finally:
        cursor.close()
    assert saved is not None
    return saved


def delete(store: Any, actor: Actor, query_id: str) -> None:
    """Delete a saved query: its owner or an admin (every refusal audited)."""
    _require(store, actor, "explore_delete_query", query_id)
    cursor = store.cursor()
    try:
        existing = get(cursor, query_id)
    finally:
        cursor.close()
    if existing is None:
        raise ValueError(f"no saved query {query_id}")
    if not may_change(actor, existing):
        _refuse(store, actor, "explore_delete_query", query_id,
                f"{actor.email} may not delete {existing.owner_email}'s query")
    with store.transaction() as conn:
        conn.execute("DELETE FROM explore_queries WHERE id = ?", [query_id])
        audit.record(conn, actor, "explore_delete_query", account_id=None, target_id=query_id,
                     params={"name": existing.name, "sql": existing.sql}, reason=None, result="succeeded")


def _require(store: Any, actor: Actor, action: str, query_id: str | None) -> None:
    try:
        require(actor, "page:explore")
    except PermissionDenied as exc:
        _refuse(store, actor, action, query_id, str(exc))


def _refuse(store: Any, actor: Actor, action: str, query_id: str | None, why: str) -> None:
    """Audit the refusal, then raise it."""
    with store.transaction() as conn:
        audit.record(conn, actor, action, account_id=None, target_id=query_id, params={}, reason=None,
                     result="denied", error=why)
    raise PermissionDenied(why)


__all__ = ["QueryRefused", "SavedQuery", "delete", "get", "list_queries", "may_change", "save"]
