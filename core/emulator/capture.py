"""Authorize now, capture later (POST /v1/charges with capture=false, then POST /v1/charges/{id}/capture).

As Stripe documents it (https://docs.stripe.com/payments/place-a-hold-on-a-payment-method): an uncaptured
charge is `succeeded` with `captured: false`, `amount_captured: 0` and no balance transaction; capturing moves
the money (balance transaction, and for a destination charge its transfer and application fee) for the
captured amount only, and the rest of the authorization is released, shown in `amount_refunded`
(https://docs.stripe.com/api/charges/capture: "the remaining amount is refunded").
"""
from __future__ import annotations

from typing import Any

from . import ledger, objects
from .api import ApiError, Call, _int, retrieve, route
from .state import PLATFORM, Record, State


def capture(state: State, created: int, charge: Record, amount: int, request: dict[str, Any] | None = None) -> Record:
    """Capture `amount` of an authorized charge: its money moves now, the rest is released."""
    flow = charge["_flow"]
    account = (state.records[charge["destination"]] if flow == "destination" else
               state.records[charge["_scope"]] if flow == "direct" else
               {"id": PLATFORM, "default_currency": state.platform_currency})
    fee = charge.get("_fee_amount")
    transfer = charge.get("_transfer_amount")
    if transfer is not None:
        transfer = min(transfer, amount)
    previous = {"captured": False, "amount_captured": 0, "amount_refunded": charge["amount_refunded"]}
    charge.update(captured=True, amount_captured=amount)
    charge["amount_refunded"] += charge["amount"] - amount
    ledger.settle_charge(state, created, charge, account, flow, amount, charge["currency"],
                         None if fee is None else min(fee, amount), transfer, request)
    for key in ("_flow", "_fee_amount", "_transfer_amount"):
        charge.pop(key, None)
    ledger.emit(state, created, "charge.captured", charge, previous, request)
    return charge


@route("POST", "/v1/charges/{id}/capture", ("amount", "application_fee_amount", "statement_descriptor"))
def capture_charge(state: State, call: Call) -> Any:
    charge = retrieve(state, call, "charges", call.match["id"])
    if charge["status"] != "succeeded" or charge.get("captured", True):
        raise ApiError(400, f"Charge {charge['id']} has already been captured.", code="charge_already_captured",
                       param="charge")
    amount = _int(call.params, "amount", 1, charge["amount"], charge["amount"]) or charge["amount"]
    fee = _int(call.params, "application_fee_amount", 0, amount)
    if fee is not None:
        charge["_fee_amount"] = fee
    return objects.render(state, capture(state, call.now, charge, amount, call.request))
