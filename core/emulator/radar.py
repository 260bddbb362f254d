"""Radar's early fraud warnings: the card issuers' fraud reports (Visa's TC40, Mastercard's SAFE) Stripe shows
as `radar.early_fraud_warning` objects (https://docs.stripe.com/api/radar/early_fraud_warnings).

Listed per scope like the charges they are about (`GET /v1/radar/early_fraud_warnings`, filters `charge` and
`payment_intent`, with a `Stripe-Account` header for a connected account's direct charges), retrieved by id,
and announced by `radar.early_fraud_warning.created` and `.updated` events. VAMP counts these reports with
disputes (https://docs.stripe.com/disputes/monitoring-programs).
"""
from __future__ import annotations

from typing import Any

from . import api, ledger, objects
from .api import Call, list_page, retrieve, route
from .state import Record, State

RESOURCE = "early_fraud_warnings"
FRAUD_TYPES = ("card_never_received", "fraudulent_card_application", "made_with_counterfeit_card",
               "made_with_lost_card", "made_with_stolen_card", "misc", "unauthorized_use_of_card")
api.LIST_FILTERS[RESOURCE] = ("charge", "payment_intent")


def render(state: State, rec: Record) -> dict[str, Any]:
    return {"id": rec["id"], "object": "radar.early_fraud_warning", "actionable": rec["actionable"],
            "charge": rec["charge"], "created": rec["created"], "fraud_type": rec["fraud_type"], "livemode": False,
            "payment_intent": rec.get("payment_intent")}


objects.RENDERERS[RESOURCE] = render


def create_warning(state: State, created: int, charge: Record, fraud_type: str = "made_with_stolen_card") -> Record:
    """An issuer's fraud report on a charge, in the charge's scope; actionable while the charge is neither
    refunded nor disputed (Stripe's meaning of `actionable`)."""
    rec: Record = {"id": state.new_id("issfr"), "created": created, "charge": charge["id"],
                   "payment_intent": charge.get("payment_intent"), "fraud_type": fraud_type,
                   "actionable": not charge.get("dispute") and not charge.get("amount_refunded")}
    state.add(RESOURCE, rec, charge["_scope"])
    ledger.emit(state, created, "radar.early_fraud_warning.created", rec)
    return rec


@route("GET", "/v1/radar/early_fraud_warnings")
def list_warnings(state: State, call: Call) -> Any:
    return list_page(state, call, RESOURCE, "/v1/radar/early_fraud_warnings")


@route("GET", "/v1/radar/early_fraud_warnings/{id}")
def retrieve_warning(state: State, call: Call) -> Any:
    api.check_unknown(call.params, ("expand",))
    return objects.render(state, retrieve(state, call, RESOURCE, call.match["id"]))
