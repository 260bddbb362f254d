"""The path every action on Stripe takes: permission, reason, idempotency key, the call, the audit row,
a targeted re-sync.

Each user area writes its actions (core/support/actions.py, ...) on top of `perform`; pages only collect
input and confirm, so a role without the permission cannot act even by calling core directly. The
idempotency key is derived from the action and its inputs: a double click can never act twice.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
from pydantic import BaseModel

from core import audit
from core.auth import Actor, PermissionDenied, require
from core.mirror.store import Store
from core.stripe_api import StripeApi, StripeApiError

MIN_REASON_LENGTH = 5


class ActionFailed(Exception):
    """The action did not happen; the message says why in words a support agent can act on."""


class ActionResult(BaseModel):
    message: str
    audit_id: int | None
    stripe_request_id: str | None = None
    url: str | None = None
    expires_at: datetime | None = None
    repeated: bool = False  # this exact action had already been done: nothing new happened


@dataclass
class Context:
    """What actions need from the runtime: the store to audit and re-sync into, the API to call."""

    store: Store
    api: StripeApi


Resynced = list[tuple[str, str, dict[str, Any]]]  # (table, scope, Stripe object)


def idempotency_key(action: str, inputs: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps([action, inputs], sort_keys=True, default=str).encode()).hexdigest()
    return f"connect-ops-{action}-{digest[:40]}"


def _check_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if len(text) < MIN_REASON_LENGTH:
        raise ActionFailed(f"A reason of at least {MIN_REASON_LENGTH} characters is required; it goes in the audit log.")
    return text


def perform(ctx: Context, actor: Actor, action: str, *, account_id: str | None, target_id: str | None,
             params: dict[str, Any], reason: str | None, call: Callable[[str], Any],
             resync: Callable[[Any], Resynced], done: Callable[[Any], ActionResult],
             record: Callable[[duckdb.DuckDBPyConnection, Any, int], None] | None = None) -> ActionResult:
    """The one path every Stripe mutation takes.

    `record(conn, obj, audit_id)` writes the action's own rows (a review state, what to restore later) in
    the transaction of its audit row: both are there, or neither."""
    try:
        require(actor, f"action:{action}")
    except PermissionDenied as exc:
        with ctx.store.transaction() as conn:
            audit.record(conn, actor, action, account_id=account_id, target_id=target_id, params=params,
                         reason=reason, result="denied", error=str(exc))
        raise
    why = _check_reason(reason)
    key = idempotency_key(action, {"account": account_id, "target": target_id, "params": params, "reason": why})
    earlier = _earlier_success(ctx, key)
    if earlier is not None:
        return ActionResult(message="Already done: this exact action succeeded before (see the audit log), "
                                    "so nothing was sent to Stripe again.",
                            audit_id=earlier, repeated=True)
    try:
        obj = call(key)
    except StripeApiError as exc:
        with ctx.store.transaction() as conn:
            audit.record(conn, actor, action, account_id=account_id, target_id=target_id, params=params,
                         reason=why, result="failed", error=str(exc), idempotency_key=key)
        raise ActionFailed(f"Stripe refused: {exc}") from None
    response = getattr(obj, "last_response", None)
    request_id = getattr(response, "request_id", None)
    replayed = bool(response and any(k.lower() == "idempotent-replayed" for k in (response.headers or {})))
    rows = _safe_resync(resync, obj)
    # The mirror's rows first, then the audit row (DuckDB commits one database per transaction, and the people's
    # records are a database of their own, core/mirror/records.py): a crash between leaves the mirror ahead,
    # which the next sync would have brought anyway.
    with ctx.store.transaction() as conn:
        ctx.store.upsert_outside_sync(conn, rows)
    with ctx.store.transaction() as conn:
        audit_id = audit.record(conn, actor, action, account_id=account_id, target_id=target_id, params=params,
                                reason=why, result="replayed" if replayed else "succeeded",
                                stripe_request_id=request_id, idempotency_key=key)
        if record is not None:
            record(conn, obj, audit_id)
    result = done(obj)
    return result.model_copy(update={"audit_id": audit_id, "stripe_request_id": request_id, "repeated": replayed})


def _earlier_success(ctx: Context, key: str) -> int | None:
    row = ctx.store.cursor().execute(
        "SELECT id FROM audit_log WHERE idempotency_key = ? AND result IN ('succeeded', 'replayed') "
        "ORDER BY id LIMIT 1", [key]).fetchone()
    return int(row[0]) if row else None


def _safe_resync(resync: Callable[[Any], Resynced], obj: Any) -> Resynced:
    """The action happened; a failed re-read must not hide that (the next sync catches up)."""
    try:
        return resync(obj)
    except StripeApiError:
        return []


def as_dict(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def request_options(key: str, account: str | None = None) -> dict[str, Any]:
    options: dict[str, Any] = {"idempotency_key": key}
    if account:
        options["stripe_account"] = account
    return options
