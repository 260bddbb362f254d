"""Emulator-only endpoints under /_emulator/: what a test or benchmark needs that Stripe's API has no
call for (dump everything, count requests, fail a payout, open a dispute, change requirements).
"""
from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from . import ledger, objects
from .api import ApiError, missing
from .state import PLATFORM, RESOURCES

if TYPE_CHECKING:
    from .server import Emulator


def handle(emulator: "Emulator", method: str, path: str, params: dict[str, Any]) -> Any:
    state = emulator.state
    parts = path.split("/")[2:]
    now = state.now()
    with state.lock:
        if method == "GET" and parts == ["dump"]:
            return dump(emulator, params.get("resource", ""))
        if method == "GET" and parts == ["stats"]:
            with emulator.stats.lock:
                return emulator.stats.as_dict()
        if method == "POST" and parts == ["stats", "reset"]:
            with emulator.stats.lock:
                emulator.stats.reset()
                return {"reset": True}
        if method == "POST" and parts == ["mutate"]:
            return {"changed": mutate(emulator, float(params.get("fraction", 0.01)), int(params.get("seed", 1)), now)}
        if method == "POST" and len(parts) == 3 and parts[0] == "payouts" and parts[2] == "fail":
            payout = _record(emulator, "payouts", parts[1])
            if payout["status"] in ("failed", "canceled"):
                raise ApiError(400, f"Payout {payout['id']} is already {payout['status']}.")
            ledger.fail_payout(state, now, payout, str(params.get("failure_code", "account_closed")))
            return objects.render(state, payout)
        if method == "POST" and parts == ["disputes"]:
            charge = _record(emulator, "charges", str(params.get("charge", "")))
            if charge["status"] != "succeeded" or charge.get("dispute"):
                raise ApiError(400, f"Charge {charge['id']} cannot be disputed.")
            return objects.render(state, ledger.create_dispute(state, now, charge, str(params.get("reason", "fraudulent"))))
        if method == "POST" and len(parts) == 3 and parts[0] == "disputes" and parts[2] == "close":
            dispute = _record(emulator, "disputes", parts[1])
            return objects.render(state, ledger.close_dispute(state, now, dispute, str(params.get("status", "lost"))))
        if method == "POST" and len(parts) == 3 and parts[0] == "accounts" and parts[2] == "external_accounts":
            account = _record(emulator, "accounts", parts[1])
            bank = ledger.add_external_account(state, now, account, str(params.get("last4", "4242")))
            return objects.bank_account(state, bank, account["id"])
        if method == "POST" and len(parts) == 3 and parts[0] == "accounts" and parts[2] == "deauthorize":
            account = _record(emulator, "accounts", parts[1])
            ledger.deauthorize(state, now, account)
            return {"id": account["id"], "deauthorized": True}
        if method == "POST" and len(parts) == 3 and parts[0] == "accounts" and parts[2] == "requirements":
            account = _record(emulator, "accounts", parts[1])
            return objects.render(state, set_requirements(state, now, account, params))
        if method == "POST" and len(parts) == 3 and parts[0] == "charges" and parts[2] == "early_fraud_warning":
            from . import radar  # an issuer reports the charge as fraud (Stripe's test card 4000000000005423)

            charge = _record(emulator, "charges", parts[1])
            return objects.render(state, radar.create_warning(state, now, charge,
                                                              str(params.get("fraud_type") or "made_with_stolen_card")))
        if method == "POST" and len(parts) == 3 and parts[0] == "accounts" and parts[2] == "cover_negative_balance":
            account = _record(emulator, "accounts", parts[1])
            txn = ledger.cover_negative_balance(state, now, account, int(params.get("amount", 0)),
                                                str(params.get("currency") or account["default_currency"]))
            return objects.render(state, txn)
    raise ApiError(404, f"Unknown emulator control endpoint: {method} {path}")


def _record(emulator: "Emulator", resource: str, object_id: str) -> dict[str, Any]:
    rec = emulator.state.records.get(object_id)
    if rec is None or rec["_resource"] != resource:
        raise missing(resource, object_id)
    return rec


def dump(emulator: "Emulator", resource: str) -> dict[str, Any]:
    """Every object of a resource in every scope, rendered as the API would return it."""
    if resource not in RESOURCES:
        raise ApiError(400, f"resource must be one of {', '.join(RESOURCES)}", param="resource")
    state = emulator.state
    data = []
    for rec in state.all_of(resource):
        data.append({"account": rec["_scope"], "object": objects.render(state, rec)})
    return {"data": data}


def set_requirements(state: Any, now: int, account: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Replace requirement lists; past_due items disable the account as Stripe does."""
    requirements = dict(account["requirements"])
    for name in ("past_due", "currently_due", "eventually_due", "pending_verification"):
        if name in params:
            value = params[name]
            requirements[name] = value if isinstance(value, list) else [v for v in str(value).split(",") if v]
    if "current_deadline" in params:
        requirements["current_deadline"] = int(params["current_deadline"]) if params["current_deadline"] else None
    changes: dict[str, Any] = {"requirements": requirements}
    if str(params.get("disabled_reason") or "").startswith("rejected."):  # Stripe itself rejects the account
        requirements["disabled_reason"] = str(params["disabled_reason"])
        changes.update(charges_enabled=False, payouts_enabled=False)
    elif requirements.get("past_due"):
        requirements["disabled_reason"] = "requirements.past_due"
        changes.update(charges_enabled=False, payouts_enabled=False)
    elif str(requirements.get("disabled_reason") or "").startswith("requirements."):
        requirements["disabled_reason"] = None
        changes.update(charges_enabled=True, payouts_enabled=True)
    return ledger.update_account(state, now, account, changes)


def mutate(emulator: "Emulator", fraction: float, seed: int, now: int) -> int:
    """Change about `fraction` of the charges' worth of objects the ways a live platform changes."""
    state = emulator.state
    rng = random.Random(seed)
    accounts = [state.records[i] for i in state.collection(PLATFORM, "accounts").ids]
    charges = [state.records[i] for (scope, name), coll in state.collections.items()
               if name == "charges" for i in coll.ids]
    charges = [c for c in charges if not c["id"].startswith("py_")]
    payouts = [state.records[i] for (scope, name), coll in state.collections.items()
               if name == "payouts" and scope is not PLATFORM for i in coll.ids]
    target = max(1, round(len(charges) * fraction))
    changed = 0
    for _ in range(target):
        roll = rng.random()
        if roll < 0.4:
            _new_charge(state, rng, accounts, now)
        elif roll < 0.65:
            charge = rng.choice(charges)
            if ledger.refundable(charge) > 0 and not charge.get("dispute"):
                # The fee goes back with the refund (refund_application_fee): a credit in the connected account
                # that no object of its scope names (ledger._credit_fee_refund).
                ledger.create_refund(state, now, charge, max(1, ledger.refundable(charge) // 2), "requested_by_customer",
                                     refund_application_fee=bool(charge.get("application_fee")),
                                     reverse_transfer=bool(charge.get("transfer")))
        elif roll < 0.75:
            charge = rng.choice(charges)
            if charge["status"] == "succeeded" and not charge.get("dispute") and ledger.refundable(charge) > 0:
                ledger.create_dispute(state, now, charge)
        elif roll < 0.8:
            payout = rng.choice(payouts) if payouts else None
            if payout is not None and payout["status"] in ("paid", "in_transit"):
                ledger.fail_payout(state, now, payout, "could_not_process")
        else:
            account = rng.choice(accounts)
            set_requirements(state, now, account, {"currently_due": ["individual.verification.document"],
                                                   "current_deadline": now + 7 * ledger.DAY})
        changed += 1
    return changed


def _new_charge(state: Any, rng: random.Random, accounts: list[dict[str, Any]], now: int) -> None:
    account = rng.choice([a for a in accounts if a["charges_enabled"]] or accounts)
    flow = "direct" if account["type"] == "standard" else "destination"
    currency = account["default_currency"]
    amount = rng.randint(500, 20_000) if currency != "jpy" else rng.randint(500, 20_000)
    ledger.create_charge(state, now, account, flow, amount, currency, round(amount * 0.1), "succeeded",
                         {"description": "Live order", "outcome": {"risk_level": "normal", "risk_score": 10},
                          "card": {"brand": "visa", "last4": "4242", "country": account["country"]}})
