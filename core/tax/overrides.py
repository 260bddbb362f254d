"""Per-account corrections finance makes before filing: the form type, and Stripe's `filing_requirement`.

They live in DuckDB (table `tax_form_overrides`, one row per account and tax year: a correction to
2025's form must not silently change the 2024 form already filed) and never go to Stripe from here:
Stripe learns them from the import CSV. Setting one is an action like any other: permission checked
again here, a reason required, an audit row written in the same transaction (refused attempts too).
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal

import duckdb
from pydantic import BaseModel

from core import audit
from core.actions import MIN_REASON_LENGTH, ActionFailed, ActionResult, Context
from core.auth import Actor, PermissionDenied, require
from core.clock import utc_now
from core.tax.rules import FORM_LABELS, FormType

ACTION = "tax_form_override"
FilingRequirement = Literal["DEFAULT", "NOT_REQUIRED", "REQUIRED", "REQUIRED_EVEN_IF_INCOMPLETE",
                            "REQUIRED_EVEN_IF_BELOW_THRESHOLD"]
# Stripe Docs, 'Update and create 1099 tax forms' (docs.stripe.com/connect/modify-tax-forms), "Override the
# tax form status": what each value of the import's `filing_requirement` column does.
FILING_REQUIREMENTS: dict[str, str] = {
    "DEFAULT": "Use federal and state thresholds to decide whether the form is filed",
    "NOT_REQUIRED": "Don't file the form, even if it meets the threshold and is complete",
    "REQUIRED": "File the form, even if it is below the threshold or incomplete",
    "REQUIRED_EVEN_IF_INCOMPLETE": "File the form if it is above the threshold, even if it isn't complete",
    "REQUIRED_EVEN_IF_BELOW_THRESHOLD": "File the form if it is complete, even if it is below the threshold",
}


class Override(BaseModel):
    account_id: str
    tax_year: int
    form_type: FormType | None  # None: the platform's default form type
    filing_requirement: FilingRequirement = "DEFAULT"
    updated_at: datetime
    updated_by: str


def overrides_for_year(cur: duckdb.DuckDBPyConnection, tax_year: int) -> dict[str, Override]:
    """The year's corrections by account (none in a mirror opened read-only before migration 8 existed)."""
    try:
        rows = cur.execute("SELECT account_id, tax_year, form_type, filing_requirement, updated_at, updated_by "
                           "FROM tax_form_overrides WHERE tax_year = ?", [tax_year]).fetchall()
    except duckdb.CatalogException:
        return {}
    names = ("account_id", "tax_year", "form_type", "filing_requirement", "updated_at", "updated_by")
    return {r[0]: Override(**dict(zip(names, r))) for r in rows}


def set_override(ctx: Context, actor: Actor, account_id: str, tax_year: int, form_type: FormType | None,
                 filing_requirement: FilingRequirement, reason: str) -> ActionResult:
    """Store the account's form type and filing requirement for the year; both back to default clears it."""
    params = {"tax_year": tax_year, "form_type": form_type, "filing_requirement": filing_requirement}
    _require(ctx, actor, account_id, params, reason)
    why = _checked(ctx, account_id, form_type, filing_requirement, reason)
    with ctx.store.transaction() as conn:
        conn.execute("DELETE FROM tax_form_overrides WHERE account_id = ? AND tax_year = ?", [account_id, tax_year])
        if form_type is not None or filing_requirement != "DEFAULT":
            conn.execute("INSERT INTO tax_form_overrides VALUES (?, ?, ?, ?, ?, ?)",
                         [account_id, tax_year, form_type, filing_requirement, utc_now(), actor.email])
        audit_id = audit.record(conn, actor, ACTION, account_id=account_id, target_id=f"{account_id}:{tax_year}",
                                params=params, reason=why, result="succeeded")
    return ActionResult(message=_words(tax_year, form_type, filing_requirement), audit_id=audit_id)


def _require(ctx: Context, actor: Actor, account_id: str, params: dict[str, object], reason: str) -> None:
    """The permission check every action makes; a refusal is audited too."""
    try:
        require(actor, f"action:{ACTION}")
    except PermissionDenied as exc:
        with ctx.store.transaction() as conn:
            audit.record(conn, actor, ACTION, account_id=account_id, target_id=account_id, params=params,
                         reason=reason, result="denied", error=str(exc))
        raise


def _checked(ctx: Context, account_id: str, form_type: str | None, filing_requirement: str, reason: str) -> str:
    if form_type is not None and form_type not in FORM_LABELS:
        raise ActionFailed(f"Form type must be one of {', '.join(FORM_LABELS)} (or the platform's default).")
    if filing_requirement not in FILING_REQUIREMENTS:
        raise ActionFailed(f"Filing requirement must be one of {', '.join(FILING_REQUIREMENTS)}.")
    row = ctx.store.cursor().execute("SELECT country FROM connected_accounts WHERE id = ?", [account_id]).fetchone()
    if row is None:
        raise ActionFailed(f"No connected account {account_id} in the synced data.")
    if row[0] != "US":
        raise ActionFailed(f"{account_id} is not a US account: it gets no 1099.")
    text = (reason or "").strip()
    if len(text) < MIN_REASON_LENGTH:
        raise ActionFailed(f"A reason of at least {MIN_REASON_LENGTH} characters is required; it goes in the audit log.")
    return text


def _words(tax_year: int, form_type: str | None, filing_requirement: str) -> str:
    form = FORM_LABELS[form_type] if form_type else "the platform's default form"
    return f"{tax_year}: {form}, filing requirement {filing_requirement}."
