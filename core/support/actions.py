"""What support agents do to a merchant: login and onboarding links, refunds, payout schedule, notes.

Each action validates against the mirror first, then takes the one path in core/actions.py.
"""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel

from core import audit
from core.actions import (
    ActionFailed,
    ActionResult,
    Context,
    Resynced,
    as_dict,
    perform,
    request_options,
)
from core.auth import Actor, PermissionDenied, allowed, require
from core.clock import utc_now
from core.holds import payout_hold
from core.money import format_amount, to_minor

PAYOUT_INTERVALS = ("manual", "daily", "weekly", "monthly")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
REFUND_REASONS = ("requested_by_customer", "duplicate", "fraudulent")


def _account_row(ctx: Context, account_id: str) -> dict[str, Any]:
    row = ctx.store.cursor().execute("SELECT type FROM connected_accounts WHERE id = ?", [account_id]).fetchone()
    if row is None:
        raise ActionFailed(f"No connected account {account_id} in the synced data.")
    return {"type": row[0]}


# --- links -----------------------------------------------------------------------------------

def create_login_link(ctx: Context, actor: Actor, account_id: str, reason: str) -> ActionResult:
    """A single-use link into the Express Dashboard, for the merchant (never for the agent to use)."""
    if _account_row(ctx, account_id)["type"] != "express":
        raise ActionFailed("Login links exist only for Express accounts.")
    return perform(
        ctx, actor, "login_link", account_id=account_id, target_id=account_id, params={}, reason=reason,
        call=lambda key: ctx.api.call("POST", f"/v1/accounts/{account_id}/login_links", lambda: ctx.api.client.v1
                                      .accounts.login_links.create(account_id, options=request_options(key))),
        resync=lambda obj: [],
        done=lambda obj: ActionResult(message="Login link created. It works once; send it to the merchant.",
                                      audit_id=None, url=obj.url))


LINK_TYPES = {"account_onboarding": "Onboarding", "account_update": "Update details"}


def create_account_link(ctx: Context, actor: Actor, account_id: str, link_type: str, reason: str,
                        return_url: str, refresh_url: str) -> ActionResult:
    if link_type not in LINK_TYPES:
        raise ActionFailed(f"Link type must be one of {', '.join(LINK_TYPES)}.")
    if link_type == "account_update" and _account_row(ctx, account_id)["type"] == "standard":
        raise ActionFailed("Standard accounts update their details in their own Stripe Dashboard; "
                           "use an onboarding link instead.")
    params = {"account": account_id, "type": link_type, "return_url": return_url, "refresh_url": refresh_url}
    return perform(
        ctx, actor, "account_link", account_id=account_id, target_id=account_id, params={"type": link_type},
        reason=reason,
        call=lambda key: ctx.api.call("POST", "/v1/account_links", lambda: ctx.api.client.v1.account_links.create(
            params=params, options=request_options(key))),
        resync=lambda obj: [],
        done=lambda obj: ActionResult(
            message=f"{LINK_TYPES[link_type]} link created; it expires "
                    f"{datetime.fromtimestamp(obj.expires_at, UTC):%H:%M UTC} and works once.",
            audit_id=None, url=obj.url, expires_at=datetime.fromtimestamp(obj.expires_at, UTC)))


# --- refunds ---------------------------------------------------------------------------------

class RefundPlan(BaseModel):
    """What a refund will do, shown in the confirmation dialog before anything is sent."""

    charge_id: str
    scope_account: str | None  # direct charges live on the connected account
    merchant_account: str | None
    currency: str
    amount: int  # minor units
    refundable: int
    refund_application_fee: bool
    reverse_transfer: bool
    has_application_fee: bool
    has_transfer: bool

    def describe(self) -> str:
        parts = [f"Refund {format_amount(self.amount, self.currency)} of charge {self.charge_id} "
                 f"(refundable: {format_amount(self.refundable, self.currency)})."]
        if self.refund_application_fee:
            parts.append("The platform's application fee is refunded in proportion.")
        if self.reverse_transfer:
            parts.append("The same share is pulled back from the merchant's balance (transfer reversal).")
        elif self.has_transfer:
            parts.append("The merchant keeps the transferred funds: the platform bears this refund.")
        return " ".join(parts)


def plan_refund(ctx: Context, charge_id: str, amount_major: str | Decimal | None, refund_application_fee: bool,
                reverse_transfer: bool) -> RefundPlan:
    """Validate a refund against the synced charge; amounts are typed in major units."""
    row = ctx.store.cursor().execute(
        """SELECT account, currency, amount, coalesce(amount_refunded, 0), status, application_fee_id, transfer_id,
                  transfer_destination_id
           FROM charges WHERE id = ? AND source_transfer_id IS NULL""", [charge_id]).fetchone()
    if row is None:
        raise ActionFailed(f"No charge {charge_id} in the synced data (transfers' py_ payments are not refunded here).")
    account, currency, amount, refunded, status, fee_id, transfer_id, destination = row
    if status != "succeeded":
        raise ActionFailed(f"Charge {charge_id} is {status}; only succeeded charges can be refunded.")
    refundable = int(amount) - int(refunded)
    if refundable <= 0:
        raise ActionFailed(f"Charge {charge_id} is already fully refunded.")
    minor = refundable if amount_major in (None, "") else _minor_amount(amount_major, currency)
    if minor <= 0:
        raise ActionFailed("The refund amount must be more than zero.")
    if minor > refundable:
        raise ActionFailed(f"At most {format_amount(refundable, currency)} can be refunded on this charge.")
    if refund_application_fee and not fee_id:
        raise ActionFailed("This charge has no application fee to refund.")
    if reverse_transfer and not transfer_id:
        raise ActionFailed("Only destination charges have a transfer to reverse.")
    return RefundPlan(charge_id=charge_id, scope_account=account, merchant_account=account or destination,
                      currency=currency, amount=minor, refundable=refundable,
                      refund_application_fee=refund_application_fee, reverse_transfer=reverse_transfer,
                      has_application_fee=bool(fee_id), has_transfer=bool(transfer_id))


def _minor_amount(value: str | Decimal, currency: str) -> int:
    try:
        return to_minor(Decimal(str(value).replace(",", "").strip()), currency)
    except (InvalidOperation, ValueError) as exc:
        raise ActionFailed(f"'{value}' is not an amount in {currency.upper()}: {exc}") from None


def refund_charge(ctx: Context, actor: Actor, plan: RefundPlan, refund_reason: str | None, reason: str) -> ActionResult:
    if refund_reason is not None and refund_reason not in REFUND_REASONS:
        raise ActionFailed(f"Refund reason must be one of {', '.join(REFUND_REASONS)}.")
    params: dict[str, Any] = {"charge": plan.charge_id, "amount": plan.amount}
    if refund_reason:
        params["reason"] = refund_reason
    if plan.refund_application_fee:
        params["refund_application_fee"] = True
    if plan.reverse_transfer:
        params["reverse_transfer"] = True

    def resync(refund: Any) -> Resynced:
        scope = plan.scope_account or ""
        rows: Resynced = [("refunds", scope, as_dict(refund))]
        charge = ctx.api.retrieve("charges", plan.charge_id, plan.scope_account)
        rows.append(("charges", scope, charge))
        if refund.balance_transaction:
            rows.append(("balance_transactions", scope,
                         ctx.api.retrieve("balance_transactions", refund.balance_transaction, plan.scope_account)))
        if charge.get("application_fee"):
            rows.append(("application_fees", "", ctx.api.retrieve("application_fees", charge["application_fee"])))
        if charge.get("transfer"):
            rows.append(("transfers", "", ctx.api.retrieve("transfers", charge["transfer"])))
        return rows

    return perform(
        ctx, actor, "refund", account_id=plan.merchant_account, target_id=plan.charge_id, params=params,
        reason=reason,
        call=lambda key: ctx.api.call("POST", "/v1/refunds", lambda: ctx.api.client.v1.refunds.create(
            params=params, options=request_options(key, plan.scope_account))),
        resync=resync,
        done=lambda refund: ActionResult(
            message=f"Refunded {format_amount(refund.amount, refund.currency)} ({refund.id}, {refund.status}).",
            audit_id=None))


# --- payout schedule -------------------------------------------------------------------------

def set_payout_schedule(ctx: Context, actor: Actor, account_id: str, interval: str, delay_days: int | None,
                        reason: str, weekly_anchor: str | None = None, monthly_anchor: int | None = None) -> ActionResult:
    hold = payout_hold(ctx.store.cursor(), account_id)
    if hold is not None and allowed(actor, "action:payout_schedule"):  # (without the permission, perform refuses)
        with ctx.store.transaction() as conn:
            audit.record(conn, actor, "payout_schedule", account_id=account_id, target_id=account_id,
                         params={"interval": interval}, reason=reason, result="denied", error=hold)
        raise ActionFailed(hold)
    if interval not in PAYOUT_INTERVALS:
        raise ActionFailed(f"Interval must be one of {', '.join(PAYOUT_INTERVALS)}.")
    if _account_row(ctx, account_id)["type"] == "standard":
        raise ActionFailed("Standard accounts set their own payout schedule in their Stripe Dashboard.")
    schedule: dict[str, Any] = {"interval": interval}
    if delay_days is not None:
        if not 2 <= int(delay_days) <= 365:
            raise ActionFailed("Delay days must be between 2 and 365.")
        schedule["delay_days"] = int(delay_days)
    if interval == "weekly":
        if weekly_anchor not in WEEKDAYS:
            raise ActionFailed("Pick the weekday payouts go out on.")
        schedule["weekly_anchor"] = weekly_anchor
    if interval == "monthly":
        if monthly_anchor is None or not 1 <= int(monthly_anchor) <= 31:
            raise ActionFailed("Pick the day of the month payouts go out on (1-31).")
        schedule["monthly_anchor"] = int(monthly_anchor)
    params = {"settings": {"payouts": {"schedule": schedule}}}
    return perform(
        ctx, actor, "payout_schedule", account_id=account_id, target_id=account_id, params=schedule, reason=reason,
        call=lambda key: ctx.api.call("POST", f"/v1/accounts/{account_id}", lambda: ctx.api.client.v1.accounts.update(
            account_id, params=params, options=request_options(key))),
        resync=lambda account: [("connected_accounts", "", as_dict(account))],
        done=lambda account: ActionResult(message=f"Payout schedule is now {_schedule_words(schedule)}.", audit_id=None))


def _schedule_words(schedule: dict[str, Any]) -> str:
    words = schedule["interval"]
    if "weekly_anchor" in schedule:
        words += f" on {schedule['weekly_anchor'].capitalize()}s"
    if "monthly_anchor" in schedule:
        words += f" on day {schedule['monthly_anchor']}"
    if "delay_days" in schedule:
        words += f", {schedule['delay_days']} days after funds settle"
    return words


# --- notes -----------------------------------------------------------------------------------

def add_note(ctx: Context, actor: Actor, account_id: str, body: str) -> int:
    """An internal note on a merchant (never sent to Stripe); audited like everything else, refusals too."""
    try:
        require(actor, "action:note")
    except PermissionDenied as exc:
        with ctx.store.transaction() as conn:
            audit.record(conn, actor, "note", account_id=account_id, target_id=None, params={}, reason=None,
                         result="denied", error=str(exc))
        raise
    found = ctx.store.cursor().execute("SELECT count(*) FROM connected_accounts WHERE id = ?", [account_id]).fetchall()
    if not found[0][0]:
        raise ActionFailed(f"No connected account {account_id} in the mirror: a note goes on a known merchant.")
    text = (body or "").strip()
    if not text:
        raise ActionFailed("The note is empty.")
    if len(text) > 5000:
        raise ActionFailed("Notes are limited to 5,000 characters.")
    with ctx.store.transaction() as conn:
        note_id = conn.execute("INSERT INTO account_notes (account_id, created_at, author_email, body) VALUES (?, ?, ?, ?) "
                               "RETURNING id", [account_id, utc_now(), actor.email, text]).fetchone()[0]
        audit.record(conn, actor, "note", account_id=account_id, target_id=str(note_id), params={"length": len(text)},
                     reason=None, result="succeeded")
    return int(note_id)


