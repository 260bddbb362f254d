"""Everything about one merchant, for the merchant page: each section one query, newest first.

A merchant's money lives in two places: objects in its own scope (direct charges, its payouts and
balance) and platform objects pointing at it (destination charges, transfers, application fees).
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import duckdb
from pydantic import BaseModel

from core.account_status import LABELS, account_status, explain_disabled_reason
from core.clock import utc_now
from core.mirror.store import dict_rows as _rows

RECENT = 100


class Requirement(BaseModel):
    field: str
    urgency: str  # past_due | currently_due | eventually_due | future | pending_verification
    deadline: datetime | None = None


class Profile(BaseModel):
    id: str
    name: str | None
    email: str | None
    type: str
    country: str
    default_currency: str
    created: datetime
    status: str
    status_label: str
    disabled_reason: str | None
    disabled_reason_text: str | None
    charges_enabled: bool
    payouts_enabled: bool
    capabilities: dict[str, str]
    requirements: list[Requirement]
    payout_schedule: dict[str, Any]
    metadata: dict[str, str]
    bank_accounts: list[dict[str, Any]]
    raw: dict[str, Any]
    disconnected_at: datetime | None = None  # left the platform: the data is as it was then, no longer synced


def _when(ts: int | None) -> datetime | None:
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None) if ts else None


def profile(db: duckdb.DuckDBPyConnection, account_id: str) -> Profile | None:
    row = db.execute("SELECT a.raw, a.created, d.disconnected_at FROM connected_accounts a "
                     "LEFT JOIN account_disconnections d ON d.account_id = a.id WHERE a.id = ?", [account_id]).fetchone()
    if row is None:
        return None
    raw = json.loads(row[0])
    status = account_status(raw)
    req = raw.get("requirements") or {}
    future = raw.get("future_requirements") or {}
    return Profile(
        id=raw["id"], name=(raw.get("business_profile") or {}).get("name"), email=raw.get("email"),
        type=raw.get("type") or "unknown", country=raw.get("country") or "", created=row[1],
        default_currency=raw.get("default_currency") or "", status=status, status_label=LABELS[status],
        disabled_reason=req.get("disabled_reason"), disabled_reason_text=explain_disabled_reason(req.get("disabled_reason")),
        charges_enabled=bool(raw.get("charges_enabled")), payouts_enabled=bool(raw.get("payouts_enabled")),
        capabilities=raw.get("capabilities") or {}, requirements=_requirements(req, future),
        payout_schedule=((raw.get("settings") or {}).get("payouts") or {}).get("schedule") or {},
        metadata=raw.get("metadata") or {}, bank_accounts=(raw.get("external_accounts") or {}).get("data") or [],
        raw=raw, disconnected_at=row[2])


def _requirements(req: dict[str, Any], future: dict[str, Any]) -> list[Requirement]:
    """Grouped by urgency, most urgent first; an item appears once, under its most urgent group."""
    seen: set[str] = set()
    out: list[Requirement] = []
    groups = [("past_due", req.get("past_due"), None),
              ("currently_due", req.get("currently_due"), _when(req.get("current_deadline"))),
              ("pending_verification", req.get("pending_verification"), None),
              ("eventually_due", req.get("eventually_due"), None),
              ("future", (future.get("currently_due") or []) + (future.get("eventually_due") or []),
               _when(future.get("current_deadline")))]
    for urgency, items, deadline in groups:
        for item in items or []:
            if item not in seen:
                seen.add(item)
                out.append(Requirement(field=item, urgency=urgency, deadline=deadline))
    return out


# An account's balance: available and pending per currency, summed from the balance transactions in its
# scope (one definition for the merchant page and the accounts list; `$now` is bound by the caller).
BALANCES_SQL = """
    SELECT account, currency,
           sum(net) FILTER (WHERE available_on <= $now) AS available,
           coalesce(sum(net) FILTER (WHERE available_on > $now), 0) AS pending
    FROM balance_transactions WHERE account IS NOT NULL GROUP BY account, currency"""


def balances(db: duckdb.DuckDBPyConnection, account_id: str, now: datetime | None = None) -> list[dict[str, Any]]:
    """Available and pending per currency, summed from the account's balance transactions."""
    result = db.execute(f"SELECT currency, available, pending FROM ({BALANCES_SQL}) WHERE account = $account "
                        "ORDER BY currency", {"now": now or utc_now(), "account": account_id})
    names = [d[0] for d in result.description]
    return [dict(zip(names, row)) for row in result.fetchall()]


def ledger(db: duckdb.DuckDBPyConnection, account_id: str, limit: int = 200,
           now: datetime | None = None) -> list[dict[str, Any]]:
    """Balance movements newest first, each with the balance right after it (per currency). `status` is
    told by the same rule as `balances` (available once `available_on` has passed `now`), not as Stripe
    said it at the last sync, so the page's balance and its ledger never disagree."""
    result = db.execute("""
        SELECT * FROM (
            SELECT created, type, reporting_category, description, currency, amount, fee, net,
                   CASE WHEN available_on <= $now THEN 'available' ELSE 'pending' END AS status, available_on,
                   source_id, id,
                   sum(net) OVER (PARTITION BY currency ORDER BY created, id ROWS UNBOUNDED PRECEDING) AS balance_after
            FROM balance_transactions WHERE account = $account)
        ORDER BY created DESC, id DESC LIMIT $limit""", {"account": account_id, "limit": limit, "now": now or utc_now()})
    names = [d[0] for d in result.description]
    return [dict(zip(names, row)) for row in result.fetchall()]


def charges(db: duckdb.DuckDBPyConnection, account_id: str, limit: int = RECENT) -> list[dict[str, Any]]:
    """Direct charges on the account, destination charges to it, and separate charges transferred to it."""
    return _rows(db, """
        SELECT c.created, c.id,
               CASE WHEN c.account = ? THEN 'direct' WHEN c.transfer_destination_id = ? THEN 'destination'
                    ELSE 'separate' END AS flow,
               c.status, c.currency, c.amount, c.amount_refunded, c.refunded, c.disputed,
               c.application_fee_amount, c.outcome_risk_level AS risk, c.failure_code, c.description
        FROM charges c
        WHERE (c.account = ? AND c.source_transfer_id IS NULL) OR c.transfer_destination_id = ?
           OR c.id IN (SELECT source_transaction_id FROM transfers
                       WHERE destination_id = ? AND source_transaction_id IS NOT NULL)
        ORDER BY c.created DESC LIMIT ?""", [account_id] * 5 + [limit])


def transfers(db: duckdb.DuckDBPyConnection, account_id: str, limit: int = RECENT) -> list[dict[str, Any]]:
    return _rows(db, """SELECT created, id, currency, amount, amount_reversed, reversed, source_transaction_id,
                               destination_payment_id
                        FROM transfers WHERE destination_id = ? ORDER BY created DESC LIMIT ?""", [account_id, limit])


def payouts(db: duckdb.DuckDBPyConnection, account_id: str, limit: int = RECENT) -> list[dict[str, Any]]:
    return _rows(db, """SELECT created, id, status, currency, amount, arrival_date, failure_code, failure_message
                        FROM payouts WHERE account = ? ORDER BY created DESC LIMIT ?""", [account_id, limit])


def disputes(db: duckdb.DuckDBPyConnection, account_id: str) -> list[dict[str, Any]]:
    """Disputes on the account's direct charges and on platform charges made for it."""
    return _rows(db, """
        SELECT d.created, d.id, d.status, d.reason, d.currency, d.amount, d.evidence_due_by, d.charge_id
        FROM disputes d
        WHERE d.account = ?
           OR (d.account IS NULL AND d.charge_id IN (
                SELECT id FROM charges WHERE account IS NULL AND (transfer_destination_id = ? OR id IN (
                    SELECT source_transaction_id FROM transfers WHERE destination_id = ?))))
        ORDER BY d.created DESC""", [account_id] * 3)


def application_fees(db: duckdb.DuckDBPyConnection, account_id: str, limit: int = RECENT) -> list[dict[str, Any]]:
    return _rows(db, """SELECT created, id, currency, amount, amount_refunded, refunded,
                               coalesce(originating_transaction_id, charge_id) AS charge
                        FROM application_fees WHERE account_id = ? ORDER BY created DESC LIMIT ?""",
                 [account_id, limit])


def shared_bank_accounts(db: duckdb.DuckDBPyConnection, account_id: str) -> list[dict[str, Any]]:
    """Other merchants paying out to a bank account with the same fingerprint: a classic risk signal."""
    return _rows(db, """
        WITH fp AS (
            SELECT id, unnest(json_extract_string(raw, '$.external_accounts.data[*].fingerprint')) AS fingerprint
            FROM connected_accounts)
        SELECT DISTINCT other.id, a.business_name, a.email, other.fingerprint
        FROM fp mine JOIN fp other ON mine.fingerprint = other.fingerprint AND other.id <> mine.id
        JOIN connected_accounts a ON a.id = other.id
        WHERE mine.id = ? ORDER BY other.id""", [account_id])
