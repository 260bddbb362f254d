"""The Revenue page's harder cases in the demo: separate charges whose transfers name only their
transfer_group (Stripe's own example: https://docs.stripe.com/connect/separate-charges-and-transfers), groups of
several charges and transfers, charges authorized and captured later (in part, or never), separate charges
still awaiting their transfer, and the platform's own sales (a monthly plan, not Connect volume).

They come after everything else, on two accounts of their own, from their own random stream
(`random.Random(f"{seed}-revenue")`), so no other account, charge or id of the demo changes.
"""
from __future__ import annotations

import random

from . import ledger
from .capture import capture
from .ledger import DAY
from .state import PLATFORM, Record, State

DAYS = 180  # the cases span the last six months
PLAN = {"usd": 4_900}  # the platform's own monthly plan, charged to each of its subscribers
SUBSCRIBERS = 12


def revenue_demo(state: State, seed: int, end: int) -> list[Record]:
    """Two merchants (a marketplace seller paid by group, a rental shop whose charges are authorized first)
    and the platform's own plan sales; returns the accounts made."""
    rng = random.Random(f"{seed}-revenue")
    start = end - DAYS * DAY
    seller = _account(state, start, "Group Orders Marketplace", "5999")
    rentals = _account(state, start, "Hold & Capture Rentals", "7512")
    platform = {"id": PLATFORM, "default_currency": state.platform_currency}
    for n, t in enumerate(range(start + 3600, end - DAY, 2 * DAY)):
        t += rng.randrange(DAY // 2)
        _group_order(state, rng, platform, seller, t, f"order_demo_{seed}_{n}")
        _rental(state, rng, rentals, t + 7200)
    for month in range(start, end - DAY, 30 * DAY):
        for k in range(SUBSCRIBERS):
            ledger.create_charge(state, month + 600 * k, platform, "separate", PLAN["usd"], "usd", None, "succeeded",
                                 {"description": "Connect Ops Pro plan (monthly)"})
    for k in range(3):  # separate charges whose transfers are still to come (a group, no transfer yet)
        ledger.create_charge(state, end - DAY // 2 - 60 * k, platform, "separate", 8_000 + 1_000 * k, "usd", None,
                             "succeeded", {"description": f"Order awaiting delivery #{k}",
                                           "transfer_group": f"order_demo_{seed}_waiting_{k}"})
    return [seller, rentals]


def _account(state: State, created: int, name: str, mcc: str) -> Record:
    fields = {"type": "custom", "country": "US", "default_currency": "usd", "email": None, "business_type": "company",
              "business_name": name, "url": None, "mcc": mcc, "product_description": f"{name} sells online.",
              "metadata": {}}
    return ledger.create_account(state, created, fields, None)


def _group_order(state: State, rng: random.Random, platform: Record, seller: Record, t: int, group: str) -> None:
    """An order paid in one or two charges; the seller is paid by transfers naming only the group, and now and
    then a charge is refunded and part of a transfer reversed."""
    amounts = [rng.randint(20, 400) * 100 + rng.choice((0, 49, 99)) for _ in range(rng.choice((1, 1, 2)))]
    charges = [ledger.create_charge(state, t + 60 * i, platform, "separate", a, "usd", None, "succeeded",
                                    {"description": f"Marketplace order ({group})", "transfer_group": group})
               for i, a in enumerate(amounts)]
    owed = sum(amounts) - round(sum(amounts) * 0.15)
    parts = [owed] if rng.random() < 0.7 else [owed // 2, owed - owed // 2]
    transfers = [ledger.create_transfer(state, t + 3600 * (i + 1), seller, part, "usd", transfer_group=group)
                 for i, part in enumerate(parts)]
    if rng.random() < 0.1:
        refund = charges[0]["amount"] // 2
        ledger.create_refund(state, t + 3 * DAY, charges[0], refund, "requested_by_customer")
        ledger.reverse(state, t + 3 * DAY, transfers[0], min(transfers[0]["amount"], refund))


def _rental(state: State, rng: random.Random, rentals: Record, t: int) -> None:
    """A rental authorized up front: most are captured in full, some in part, some never."""
    amount = rng.randint(50, 300) * 100
    charge = ledger.create_charge(state, t, rentals, "destination", amount, "usd", round(amount * 0.08), "succeeded",
                                  {"description": "Equipment rental deposit"}, capture=False)
    fate = rng.random()
    if fate < 0.6:
        capture(state, t + DAY, charge, amount)
    elif fate < 0.85:
        capture(state, t + DAY, charge, amount - rng.randint(1, amount // 200) * 100)
