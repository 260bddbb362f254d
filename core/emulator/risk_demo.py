"""Accounts for the Risk queue: the cases a risk analyst must see first, and the ones that only look alarming.

The regular demo's bad merchants are small and random; the queue must be shown against evidence of every
size. These are written case by case (sales over the last 120 days before the anchor, 45 for the bust-out):

* a bust-out: many disputes on a steady run of sales, risky buyers, and issuers' fraud reports (Radar's early
  fraud warnings, what VAMP adds to disputes) on more of its sales;
* a Mastercard-heavy merchant over Mastercard's ratio on last month's Mastercard sales, and over Stripe's line;
* a steady merchant with 3 disputes on 83 sales (real, but far from the others);
* one dispute on one sale (a tiny sample: watch, not a case);
* inquiries only (Stripe's `warning_*`: not chargebacks);
* a card-present-heavy market stall whose online sales (VAMP's denominator) are few;
* a new account with no prior month and one dispute on many Mastercard sales (no Mastercard ratio at all).

They come after everything else, from their own random stream, so no other account changes.
"""
from __future__ import annotations

import random
from typing import Any

from . import ledger, radar
from .ledger import DAY
from .state import Record, State

RISK_DEMO_ACCOUNTS: list[dict[str, Any]] = [
    {"name": "Nightowl Gadgets", "type": "express", "charges": 160, "disputes": 16, "risky": 0.3,
     "brand": "visa", "age_days": 200, "days": 45, "warnings": 12},
    {"name": "Ironclad Supplements", "type": "custom", "charges": 600, "disputes": 14, "brand": "mastercard",
     "age_days": 400},
    {"name": "Bluebell Tickets", "type": "express", "charges": 83, "disputes": 3, "brand": "visa", "age_days": 300},
    {"name": "Pebble One-Off", "type": "express", "charges": 1, "disputes": 1, "brand": "visa", "age_days": 120,
     "days": 20},
    {"name": "Quiet Inquiry Books", "type": "custom", "charges": 90, "inquiries": 5, "brand": "visa",
     "age_days": 300},
    {"name": "Market Square Stall", "type": "custom", "charges": 300, "card_present": 280, "disputes": 3,
     "brand": "visa", "age_days": 365},
    {"name": "Fresh Start Studio", "type": "express", "charges": 400, "disputes": 1, "brand": "mastercard",
     "age_days": 20},
]


def risk_demo_accounts(state: State, seed: int, first_index: int, end: int) -> list[Record]:
    """RISK_DEMO_ACCOUNTS with their sales, disputes and payouts, from their own random stream."""
    from . import seed as demo_seed

    rng = random.Random(f"{seed}-risk")
    out = []
    for k, spec in enumerate(RISK_DEMO_ACCOUNTS):
        acct = demo_seed._account(state, rng, first_index + k, end)
        created = end - spec["age_days"] * DAY
        acct.update(country="US", default_currency="usd", type=spec["type"], business_name=spec["name"],
                    created=created, tos_date=created + 3600, product_description=f"{spec['name']} sells online.",
                    requirements={"eventually_due": [], "currently_due": [], "past_due": [],
                                  "pending_verification": []},
                    future_requirements={}, charges_enabled=True, payouts_enabled=True, details_submitted=True,
                    capabilities={"card_payments": "active", "transfers": "active"}, _profile="normal")
        acct.pop("on_behalf_of", None)
        acct["external_accounts"][0].update(country="US", currency="usd")
        acct["legal"]["name"] = spec["name"]
        _sales(state, rng, acct, spec, end)
        demo_seed._payouts(state, rng, acct, end)
        out.append(acct)
    return out


def _sales(state: State, rng: random.Random, acct: Record, spec: dict[str, Any], end: int) -> None:
    """The spec's sales over its last `days`, then its disputes and inquiries on the latest online ones, opened
    a few days after each sale; the first `card_present` sales are in person."""
    from . import seed as demo_seed

    since = max(acct["created"] + 3600, end - spec.get("days", 120) * DAY)
    times = sorted(since + rng.randrange(max(1, end - 6 * DAY - since)) for _ in range(spec["charges"]))
    made = []
    in_person = spec.get("card_present", 0)
    for n, t in enumerate(times):
        customer = demo_seed._customer(state, rng, "US")
        risky = rng.random() < spec.get("risky", 0.0)
        details = {"description": f"Order #{1000 + rng.randrange(99000)}", "customer_name": customer["name"],
                   "customer_email": customer["email"], "card": dict(customer["card"], brand=spec["brand"]),
                   "payment_method": customer["payment_method"], "outcome": demo_seed._risk(rng, risky)}
        present = n < in_person
        if present:
            details["payment_method_type"] = "card_present"
        amount = 2_000 + rng.randrange(8_000)
        charge = ledger.create_charge(state, t, acct, "destination", amount, "usd", amount // 10, "succeeded", details)
        if not present:
            made.append(charge)
    made.sort(key=lambda c: -c["created"])
    disputes, inquiries = spec.get("disputes", 0), spec.get("inquiries", 0)
    for n, charge in enumerate(made[:disputes + inquiries]):
        opened = min(end - 60, charge["created"] + rng.randint(1, 4) * DAY)
        status = "needs_response" if n < disputes else "warning_needs_response"
        ledger.create_dispute(state, opened, charge, "fraudulent", status)
    # fraud reports: on half the disputed sales (reported first), and on as many sales not (yet) disputed
    warned = made[:spec.get("warnings", 0) // 2] + made[disputes + inquiries:][:spec.get("warnings", 0) // 2]
    for charge in warned:
        radar.create_warning(state, min(end - 120, charge["created"] + DAY), charge)
