"""What the risk team does to an account: pause and resume payouts, reject it, clear it for a while.

Stripe's ladder is pause payouts, then pause payments, then reject (https://docs.stripe.com/connect/risk-management/
best-practices). Each action takes core/actions.perform (permission, reason, idempotency key, audit row, re-sync)
and writes the review's new state in the same transaction as its audit row.

What the configured API version (STRIPE_API_VERSION, else the SDK's own) allows decides how:

* Pausing payouts uses `risk_controls.payouts.pause_requested` only on a preview version (the field is in
  preview). Otherwise the payout schedule becomes `manual`: Stripe sends no automatic payout, and the schedule
  it had is kept here (`risk_payout_pauses`) and put back on resume. The result says which way was used.
* Reject reasons: `fraud`, `terms_of_service`, `other`; from 2026-09-30.endive, `fraud` is four reasons and
  `credit` is added (https://docs.stripe.com/changelog/endive/2026-09-30/updated-reject-reason-codes).

* Rejections read `rejected.platform_fraud` (and `_terms_of_service`, `_other`) from 2026-09-30.endive when the
  platform made them (https://docs.stripe.com/changelog/endive/2026-09-30/platform-rejection-reasons).
* Unreject (`POST /v1/accounts/{id}/unreject`) exists from 2026-07-29.dahlia and reverses only the platform's
  own rejections (https://docs.stripe.com/changelog/dahlia/2026-07-29/unreject-connected-account-endpoint).

Who may be rejected: only accounts whose platform is liable for negative balances
(https://docs.stripe.com/api/account/reject), read from the account's `controller.losses.payments`. Under every
version Standard accounts are not (Stripe bears their losses, and the platform may neither pause their
payouts nor reject them); before 2026-11-18 every Custom and Express account is; from 2026-11-18.endive an
Express account may be created with Stripe bearing its losses
(https://docs.stripe.com/changelog/endive/2026-11-18/express-accounts-v1-stripe-owned-pricing-negative-balance-liability),
and then it cannot be rejected either (its payouts can still be paused: the platform still sets its schedule).
"""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any

import duckdb
from pydantic import BaseModel

from core.actions import (
    ActionFailed,
    ActionResult,
    Context,
    as_dict,
    perform,
    request_options,
)
from core.auth import Actor
from core.clock import utc_now
from core.risk import payouts, review, rules
from core.risk.review import Review
from core.stripe_api import StripeApiError

RISK_CONTROLS = "risk_controls"
MANUAL_SCHEDULE = "manual_schedule"
PAUSE_METHOD_WORDS = {
    RISK_CONTROLS: "risk_controls.payouts.pause_requested (the configured API version is a preview one)",
    MANUAL_SCHEDULE: "the payout schedule set to manual (risk_controls needs a preview API version)",
}
REASONS_SPLIT = "2026-09-30"  # the version that split `fraud` (see the module docstring)
REJECT_REASONS = ("fraud", "terms_of_service", "other")
REJECT_REASONS_SPLIT = ("fraud_payment_method_casher", "fraud_payment_method_tester", "fraud_no_intent_to_fulfill",
                        "fraud_other", "credit", "terms_of_service", "other")
REJECT_LABELS = {
    "fraud": "Fraud", "terms_of_service": "Terms of service", "other": "Other",
    "fraud_payment_method_casher": "Fraud: cashing out stolen payment methods",
    "fraud_payment_method_tester": "Fraud: testing stolen payment methods",
    "fraud_no_intent_to_fulfill": "Fraud: no intent to deliver what was sold", "fraud_other": "Fraud: other",
    "credit": "Credit risk",
}
REJECT_EFFECT = ("Rejecting stops the account for good: it can no longer take payments (charges_enabled becomes "
                 "false) and Stripe pauses its payouts. Its balance stays with Stripe to cover refunds and disputes.")
MAX_CLEAR_DAYS = 365


def follow_up(now: datetime | None = None) -> datetime:
    """When an actioned account comes back into review (rules: follow_up_days): a pause or a rejection is not
    the end of a case (the balance, open disputes and refunds still need someone)."""
    now = now or utc_now()
    return now + timedelta(days=rules.value(now.date(), "follow_up_days"))


def api_version(ctx: Context) -> str:
    """The Stripe-Version every request of this context sends."""
    return getattr(ctx.api, "api_version", None) or ctx.api.client._requestor._options.stripe_version


def pause_method(version: str) -> str:
    return RISK_CONTROLS if version.endswith(".preview") else MANUAL_SCHEDULE


def reject_reasons(version: str) -> tuple[str, ...]:
    return REJECT_REASONS_SPLIT if version[:10] >= REASONS_SPLIT else REJECT_REASONS


def _account(ctx: Context, account_id: str) -> dict[str, Any]:
    found = ctx.store.cursor().execute(
        "SELECT type, requirements_disabled_reason, json_extract_string(raw, '$.controller.losses.payments') "
        "FROM connected_accounts WHERE id = ? AND account IS NULL", [account_id]).fetchall()
    row = found[0] if found else None
    if row is None:
        raise ActionFailed(f"No connected account {account_id} in the synced data.")
    if row[0] == "standard":
        raise ActionFailed("Standard accounts carry their own losses: Stripe lets the platform neither pause their "
                           "payouts nor reject them.")
    return {"type": row[0], "disabled_reason": row[1], "losses": row[2] or "application"}


def may_reject(account: dict[str, Any]) -> str | None:
    """Why this account may not be rejected (None: it may): only where the platform bears its losses."""
    if account["type"] == "standard":
        return "Standard accounts carry their own losses: the platform may not reject them."
    if account.get("losses") == "stripe":
        return ("Stripe bears this account's losses (controller.losses.payments is stripe, possible for Express "
                "accounts from API version 2026-11-18): only accounts whose platform is liable for negative "
                "balances can be rejected.")
    return None


def _update(ctx: Context, account_id: str, params: dict[str, Any]) -> Any:
    return lambda key: ctx.api.call("POST", f"/v1/accounts/{account_id}", lambda: ctx.api.client.v1.accounts.update(
        account_id, params=params, options=request_options(key)))


def _resynced(account: Any) -> list[tuple[str, str, dict[str, Any]]]:
    return [("connected_accounts", "", as_dict(account))]


def _schedule_words(schedule: dict[str, Any]) -> str:
    words = str(schedule.get("interval"))
    if schedule.get("weekly_anchor"):
        words += f" on {str(schedule['weekly_anchor']).capitalize()}s"
    if schedule.get("monthly_anchor"):
        words += f" on day {schedule['monthly_anchor']}"
    if schedule.get("delay_days") is not None:
        words += f", {schedule['delay_days']} days delay"
    return words


# --- pause and resume payouts -------------------------------------------------------------------------


class PausePlan(BaseModel):
    """What pausing will do, shown before anything is sent."""

    account_id: str
    method: str
    api_version: str
    previous_schedule: dict[str, Any] | None = None
    pending: list[dict[str, Any]] = []  # payouts already created and still pending (a manual schedule keeps them)
    review_event: int = 0  # the review as it was when planned: a second click of the same plan acts once

    def describe(self) -> str:
        if self.method == RISK_CONTROLS:
            return (f"Sets risk_controls.payouts.pause_requested on {self.account_id} (API version "
                    f"{self.api_version}): Stripe pauses every payout, automatic and manual, until it is resumed.")
        before = _schedule_words(self.previous_schedule or {})
        note = " It is manual already: nothing changes at Stripe, but the pause is recorded." \
            if (self.previous_schedule or {}).get("interval") == "manual" else ""
        left = (f" A manual schedule does not stop payouts already created: {payouts.words(self.pending)} will "
                "still go out unless canceled." if self.pending else "")
        return (f"Sets the payout schedule of {self.account_id} to manual, so Stripe sends no automatic payout "
                f"(API version {self.api_version} has no risk_controls). The current schedule, {before}, is kept "
                f"and comes back on resume.{note}{left}")


def plan_pause(ctx: Context, account_id: str, actor: Actor | None = None) -> PausePlan:
    """How payouts would be paused, from the configured API version and the account's live schedule (with the
    actor given, its permission is checked first)."""
    if actor is not None:
        review.guard(ctx, actor, "pause_payouts", account_id, {"plan": True})
    _account(ctx, account_id)
    if review.payout_pause(ctx.store.cursor(), account_id) is not None:
        raise ActionFailed("Payouts of this account are already paused by Connect Ops; resume them first.")
    version = api_version(ctx)
    method = pause_method(version)
    previous = None
    if method == MANUAL_SCHEDULE:
        try:
            live = ctx.api.retrieve("accounts", account_id)  # the schedule now, not as last synced
        except StripeApiError as exc:
            raise ActionFailed(f"Could not read the account's payout schedule from Stripe: {exc}") from None
        previous = dict(((live.get("settings") or {}).get("payouts") or {}).get("schedule") or {})
    pending = payouts.pending_payouts(ctx.store.cursor(), account_id) if method == MANUAL_SCHEDULE else []
    return PausePlan(account_id=account_id, method=method, api_version=version, previous_schedule=previous,
                     pending=pending, review_event=review.review_of(ctx.store.cursor(), account_id).last_event)


def _pause_params(plan: PausePlan) -> dict[str, Any]:
    if plan.method == RISK_CONTROLS:
        return {"risk_controls": {"payouts": {"pause_requested": True}}}
    return {"settings": {"payouts": {"schedule": {"interval": "manual"}}}}


def pause_payouts(ctx: Context, actor: Actor, plan: PausePlan, reason: str,
                  cancel_pending: bool = False) -> ActionResult:
    """Pause as planned; the review becomes actioned, and what resuming needs is kept. With `cancel_pending`,
    the payouts already pending are canceled too (each its own audited action), once the pause holds."""
    review.guard(ctx, actor, "pause_payouts", plan.account_id, {"method": plan.method})
    review.conflict(ctx.store.cursor(), actor, plan.account_id, plan.review_event)
    before = review.review_of(ctx.store.cursor(), plan.account_id)

    def record(conn: duckdb.DuckDBPyConnection, _account: Any, audit_id: int) -> None:
        previous = json.dumps(plan.previous_schedule) if plan.previous_schedule else None
        conn.execute("INSERT INTO risk_payout_pauses VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                     [plan.account_id, plan.method, previous, utc_now(), actor.email, audit_id])
        review.write_change(conn, actor, plan.account_id, before, "actioned", note=f"Payouts paused: {reason.strip()}",
                            audit_id=audit_id, assignee=before.assignee or actor.email, cleared_until=follow_up())

    result = perform(
        ctx, actor, "pause_payouts", account_id=plan.account_id, target_id=plan.account_id,
        params={"method": plan.method, "api_version": plan.api_version, "review_event": plan.review_event},
        reason=reason, call=_update(ctx, plan.account_id, _pause_params(plan)), resync=_resynced, record=record,
        done=lambda account: ActionResult(audit_id=None, message=(
            f"Payouts paused with {PAUSE_METHOD_WORDS[plan.method]}."
            + (f" Resuming restores {_schedule_words(plan.previous_schedule)}." if plan.previous_schedule else ""))))
    if plan.pending and not cancel_pending:
        return result.model_copy(update={"message": result.message + " Not stopped: "
                                         + payouts.words(plan.pending) + " already created."})
    if cancel_pending:
        cancelled = payouts.cancel_pending(ctx, actor, plan.account_id, reason)
        return result.model_copy(update={"message": f"{result.message} Pending payouts: {cancelled}."})
    return result


def _seen(before: Review, seen_event: int | None) -> int:
    """The review event the person acting saw (the page passes it): part of the once-only key, so the same
    click sent twice acts once, while the same action taken again later (after a resume) is a new one."""
    return before.last_event if seen_event is None else seen_event


def resume_payouts(ctx: Context, actor: Actor, account_id: str, reason: str,
                   seen_event: int | None = None) -> ActionResult:
    """Undo the pause the way it was made; the account goes back into review (clear it, or act again)."""
    review.guard(ctx, actor, "pause_payouts", account_id, {"resume": True})
    _account(ctx, account_id)
    pause = review.payout_pause(ctx.store.cursor(), account_id)
    if pause is None:
        raise ActionFailed("Connect Ops has not paused this account's payouts, so there is nothing to resume here.")
    method = pause["method"]
    previous = json.loads(pause["previous_schedule"]) if pause["previous_schedule"] else {}
    if method == RISK_CONTROLS:
        params: dict[str, Any] = {"risk_controls": {"payouts": {"pause_requested": False}}}
    else:
        keep = ("interval", "delay_days", "weekly_anchor", "monthly_anchor")
        params = {"settings": {"payouts": {"schedule": {k: previous[k] for k in keep if previous.get(k) is not None}}}}
    review.conflict(ctx.store.cursor(), actor, account_id, seen_event)
    before = review.review_of(ctx.store.cursor(), account_id)

    def record(conn: duckdb.DuckDBPyConnection, _account: Any, audit_id: int) -> None:
        conn.execute("DELETE FROM risk_payout_pauses WHERE account_id = ?", [account_id])
        review.write_change(conn, actor, account_id, before, "in_review", note=f"Payouts resumed: {reason.strip()}",
                            audit_id=audit_id, assignee=actor.email)

    words = ("risk_controls.payouts.pause_requested set back to false" if method == RISK_CONTROLS
             else f"the payout schedule back to {_schedule_words(previous)}")
    return perform(
        ctx, actor, "pause_payouts", account_id=account_id, target_id=account_id,
        params={"resume": True, "method": method, "review_event": _seen(before, seen_event)}, reason=reason,
        call=_update(ctx, account_id, params), resync=_resynced, record=record,
        done=lambda account: ActionResult(audit_id=None, message=f"Payouts resumed with {words}; the account is back "
                                                                 "in review."))


# --- reject ---------------------------------------------------------------------------------------------


def reject_account(ctx: Context, actor: Actor, account_id: str, reject_reason: str, reason: str,
                   seen_event: int | None = None) -> ActionResult:
    """POST /v1/accounts/{id}/reject with a reason the configured API version accepts."""
    review.guard(ctx, actor, "reject_account", account_id, {"reason": reject_reason})
    account = _account(ctx, account_id)
    refused = may_reject(account)
    if refused:
        raise ActionFailed(refused)
    if str(account["disabled_reason"] or "").startswith("rejected."):
        raise ActionFailed(f"{account_id} is already rejected ({account['disabled_reason']}).")
    allowed = reject_reasons(api_version(ctx))
    if reject_reason not in allowed:
        raise ActionFailed(f"With API version {api_version(ctx)} the reason must be one of {', '.join(allowed)}.")
    review.conflict(ctx.store.cursor(), actor, account_id, seen_event)
    before = review.review_of(ctx.store.cursor(), account_id)

    def record(conn: duckdb.DuckDBPyConnection, _account: Any, audit_id: int) -> None:
        review.write_change(conn, actor, account_id, before, "actioned",
                            note=f"Rejected ({reject_reason}): {reason.strip()}", audit_id=audit_id,
                            assignee=before.assignee or actor.email, cleared_until=follow_up())

    return perform(
        ctx, actor, "reject_account", account_id=account_id, target_id=account_id,
        params={"reason": reject_reason, "review_event": _seen(before, seen_event)}, reason=reason,
        call=lambda key: ctx.api.call("POST", f"/v1/accounts/{account_id}/reject", lambda: ctx.api.client.v1.accounts
                                      .reject(account_id, params={"reason": reject_reason},
                                              options=request_options(key))),
        resync=_resynced, record=record,
        done=lambda obj: ActionResult(audit_id=None, message=(
            f"Rejected ({REJECT_LABELS.get(reject_reason, reject_reason)}): charges enabled "
            f"{obj.charges_enabled}, payouts enabled {obj.payouts_enabled}.")))


# --- clear ----------------------------------------------------------------------------------------------


def _until(value: date | datetime) -> datetime:
    """A clearance runs to the end of the day it names (UTC)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.combine(value + timedelta(days=1), time())


def clear(ctx: Context, actor: Actor, account_id: str, until: date | datetime, note: str, firing: review.Firing,
          now: datetime | None = None, seen_event: int | None = None) -> ActionResult:
    """Close a review as nothing to act on, until `until`; it comes back then, or when a new signal fires.

    Nothing is sent to Stripe; it still takes core/actions.perform for its permission check, reason,
    once-only key and audit row. `firing` are the signals firing now (remembered: a new one reopens it)."""
    names = sorted(dict(firing) if isinstance(firing, dict) else firing)
    review.guard(ctx, actor, "clear_review", account_id, {"signals": names})
    now = now or utc_now()
    review.conflict(ctx.store.cursor(), actor, account_id, seen_event)
    before = review.review_of(ctx.store.cursor(), account_id)
    state = review.effective_state(before, firing, now, {}).state
    if state != "in_review":
        raise ActionFailed(f"Only an account in review can be cleared; this one is "
                           f"{review.STATE_LABELS[state].lower()}. Start the review first.")
    ends = _until(until)
    if ends <= now or ends > now + timedelta(days=MAX_CLEAR_DAYS + 1):
        raise ActionFailed(f"The clearance must end after today and within {MAX_CLEAR_DAYS} days.")

    def record(conn: duckdb.DuckDBPyConnection, _obj: Any, audit_id: int) -> None:
        review.write_change(conn, actor, account_id, before, "cleared", note=note.strip(), audit_id=audit_id,
                            assignee=before.assignee, cleared_until=ends,
                            cleared_signals=review.encode_signals(firing))

    return perform(
        ctx, actor, "clear_review", account_id=account_id, target_id=account_id,
        params={"until": ends.isoformat(), "signals": names, "review_event": _seen(before, seen_event)},
        reason=note,
        call=lambda key: None, resync=lambda obj: [], record=record,
        done=lambda obj: ActionResult(audit_id=None, message=(
            f"Cleared until {ends - timedelta(seconds=1):%Y-%m-%d}; it comes back then, or sooner if a new "
            "signal fires or one gets worse.")))


# --- unreject ---------------------------------------------------------------------------------------------

UNREJECT_SINCE = "2026-07-29"  # POST /v1/accounts/{id}/unreject (see the module docstring)


def can_unreject(version: str, disabled_reason: str | None) -> bool:
    """Whether to offer unreject: the version has it, and the account is rejected (from 2026-09-30 the reason
    says who rejected it, and only the platform's own rejections can be reversed)."""
    reason = str(disabled_reason or "")
    if version[:10] < UNREJECT_SINCE or not reason.startswith("rejected."):
        return False
    return reason.startswith("rejected.platform_") if version[:10] >= REASONS_SPLIT else True


def unreject_account(ctx: Context, actor: Actor, account_id: str, reason: str,
                     seen_event: int | None = None) -> ActionResult:
    """Reverse the platform's own rejection; the account goes back into review."""
    review.guard(ctx, actor, "reject_account", account_id, {"unreject": True})
    account = _account(ctx, account_id)
    version = api_version(ctx)
    if version[:10] < UNREJECT_SINCE:
        raise ActionFailed(f"API version {version} has no unreject (it exists from 2026-07-29.dahlia); ask Stripe "
                           "support, or configure a newer STRIPE_API_VERSION.")
    if not can_unreject(version, account["disabled_reason"]):
        raise ActionFailed(f"{account_id} is not rejected by the platform ({account['disabled_reason'] or 'enabled'}): "
                           "only the platform's own rejections can be reversed.")
    review.conflict(ctx.store.cursor(), actor, account_id, seen_event)
    before = review.review_of(ctx.store.cursor(), account_id)

    def record(conn: duckdb.DuckDBPyConnection, _account: Any, audit_id: int) -> None:
        review.write_change(conn, actor, account_id, before, "in_review", note=f"Unrejected: {reason.strip()}",
                            audit_id=audit_id, assignee=actor.email)

    return perform(
        ctx, actor, "reject_account", account_id=account_id, target_id=account_id,
        params={"unreject": True, "review_event": _seen(before, seen_event)}, reason=reason,
        call=lambda key: ctx.api.call("POST", f"/v1/accounts/{account_id}/unreject", lambda: ctx.api.client.v1
                                      .accounts.unreject(account_id, options=request_options(key))),
        resync=_resynced, record=record,
        done=lambda obj: ActionResult(audit_id=None, message=(
            f"Unrejected: charges enabled {obj.charges_enabled}, payouts enabled {obj.payouts_enabled}; the account "
            "is back in review.")))
