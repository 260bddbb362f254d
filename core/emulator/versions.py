"""Account rejections by API version: what a response says, and what the platform may do, per Stripe-Version.

* From 2026-09-30.endive a rejection the platform made reads `rejected.platform_fraud`,
  `rejected.platform_terms_of_service` or `rejected.platform_other` in `requirements.disabled_reason` and
  `future_requirements.disabled_reason`; Stripe's own rejections keep `rejected.fraud` and the like
  (https://docs.stripe.com/changelog/endive/2026-09-30/platform-rejection-reasons). Every response (an account,
  a list of them, an event about one) is rendered at the request's version, so the same account reads
  differently to an older client.
* From 2026-07-29.dahlia `POST /v1/accounts/{id}/unreject` reverses a rejection the platform made (never
  Stripe's), re-enabling what the rejection disabled
  (https://docs.stripe.com/changelog/dahlia/2026-07-29/unreject-connected-account-endpoint,
  https://docs.stripe.com/api/account/unreject).
* From 2026-11-18.endive an Express account may be created with `controller.losses.payments = stripe`
  (https://docs.stripe.com/changelog/endive/2026-11-18/express-accounts-v1-stripe-owned-pricing-negative-balance-liability);
  only accounts whose platform is liable for negative balances can be rejected
  (https://docs.stripe.com/api/account/reject), so such an account cannot.
"""
from __future__ import annotations

from typing import Any

from . import ledger, objects
from .api import ApiError, Call, retrieve, route
from .state import State

PLATFORM_REJECTIONS_SINCE = "2026-09-30"
UNREJECT_SINCE = "2026-07-29"
STRIPE_LOSSES_EXPRESS_SINCE = "2026-11-18"
PLATFORM_MARK = "_rejected_by_platform"   # the record's memory of a rejection the platform made, and what it undid
RENAMED = {"rejected.fraud": "rejected.platform_fraud",
           "rejected.terms_of_service": "rejected.platform_terms_of_service",
           "rejected.other": "rejected.platform_other"}


def mark_platform_rejection(account: dict[str, Any]) -> None:
    """Remember, before ledger.reject_account runs, what the rejection disables (unreject restores it)."""
    account[PLATFORM_MARK] = {"charges_enabled": account["charges_enabled"],
                              "payouts_enabled": account["payouts_enabled"],
                              "capabilities": dict(account["capabilities"]),
                              "disabled_reason": account["requirements"].get("disabled_reason")}


def _account(state: State, obj: Any) -> None:
    if not isinstance(obj, dict) or obj.get("object") != "account":
        return
    rec = state.records.get(obj.get("id"))
    if rec is None or PLATFORM_MARK not in rec:
        return
    for key in ("requirements", "future_requirements"):
        reqs = obj.get(key)
        if isinstance(reqs, dict) and reqs.get("disabled_reason") in RENAMED:
            obj[key] = dict(reqs, disabled_reason=RENAMED[reqs["disabled_reason"]])


def for_version(state: State, body: Any, api_version: str) -> Any:
    """The response as the request's API version reads it (changed in place; only accounts, lists of them and
    events about them are looked at)."""
    if not isinstance(body, dict) or api_version[:10] < PLATFORM_REJECTIONS_SINCE:
        return body
    kind = body.get("object")
    items = body.get("data") if kind in ("list", "search_result") else [body]
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("object") == "event":
            _account(state, (item.get("data") or {}).get("object"))
        else:
            _account(state, item)
    return body


@route("POST", "/v1/accounts/{id}/unreject", ())
def unreject_account(state: State, call: Call) -> Any:
    if call.api_version[:10] < UNREJECT_SINCE:
        raise ApiError(404, f"Unrecognized request URL (POST: {call.path}). Unrejecting an account needs API version "
                            "2026-07-29.dahlia or later.", code="resource_missing")
    account = retrieve(state, call, "accounts", call.match["id"])
    if not str(account["requirements"].get("disabled_reason") or "").startswith("rejected."):
        raise ApiError(400, f"Account {account['id']} is not rejected.", param="account")
    before = account.get(PLATFORM_MARK)
    if before is None:
        raise ApiError(400, f"Account {account['id']} was rejected by Stripe; only rejections your platform made can "
                            "be reversed.", param="account")
    requirements = dict(account["requirements"], disabled_reason=before["disabled_reason"])
    changes = {"requirements": requirements, "charges_enabled": before["charges_enabled"],
               "payouts_enabled": before["payouts_enabled"], "capabilities": dict(before["capabilities"])}
    del account[PLATFORM_MARK]
    ledger.update_account(state, call.now, account, changes, call.request)
    return objects.render(state, account)


def losses_payments(account: dict[str, Any]) -> str:
    """Who bears the account's negative balances: 'application' (Custom, Express by default) or 'stripe'
    (Standard, or an Express account created with Stripe-owned liability)."""
    if account["type"] == "standard":
        return "stripe"
    return str(account.get("_losses_payments") or "application")


def controller_losses(raw: Any, kind: str, api_version: str) -> str | None:
    """`controller[losses][payments]` of a new account: 'stripe' only for an Express account, from 2026-11-18
    (or the 2026-06-24 preview that introduced it)."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"losses", "fees"}:
        raise ApiError(400, "Received unknown parameter in controller.", param="controller")
    losses = (raw.get("losses") or {}).get("payments") if isinstance(raw.get("losses"), dict) else None
    if losses not in (None, "application", "stripe"):
        raise ApiError(400, "Invalid controller[losses][payments]: must be application or stripe.",
                       param="controller[losses][payments]")
    if losses == "stripe":
        since = api_version[:10] >= STRIPE_LOSSES_EXPRESS_SINCE or api_version.startswith("2026-06-24.preview")
        if kind != "express" or not since:
            raise ApiError(400, "controller[losses][payments]=stripe is available for Express accounts from API "
                                "version 2026-11-18.endive.", param="controller[losses][payments]")
    return losses
