"""US accounts for the Tax forms page: several states, with and without a TIN, across two tax years.

The regular demo accounts are random; finance needs to see every case a January brings, so these are
written case by case: a state with its own low threshold (MA, VT, IL, DC, MD), a state that follows the
IRS (CA, GA, FL, NY) or has no 1099-K (TX, WA); a company without its EIN, a person who gave only the
last 4 digits of the SSN, a missing street line, a missing legal name; more than 200 payments above
$20,000 in the last full year; card-present sales, refunds, a euro charge, separate charges and
transfers, transfers alone (a service provider's pay), a Standard account whose 1099 Stripe files,
and charges on 31 December whose funds are available in January. The last full year and the current
one get activity, so two tax years are always there. A payment's tax year is the year its funds become
available (two days after it), so "current" is the year in which the history's last payment becomes
available (on 31 December that is already next year), and each year's designed payments are placed so
that they are available within it: the counts come out the same on any date (core/clock.py).

They come after everything else from their own random stream, so no other account changes.
"""
from __future__ import annotations

import calendar
import random
import time
from typing import Any

from . import ledger
from .ledger import DAY
from .state import Record, State

TAX_DEMO_ACCOUNTS: list[dict[str, Any]] = [
    {"name": "Bunker Hill Bakery", "state": "MA", "city": "Boston", "postal": "02129", "line1": "12 Monument Sq",
     "business_type": "company", "tin": "ein", "type": "express", "flow": "destination", "amount": 10_000,
     "counts": (25, 10)},
    {"name": "Green Mountain Maple", "state": "VT", "city": "Burlington", "postal": "05401", "line1": "3 Church St",
     "business_type": "individual", "tin": "ssn_last4", "type": "express", "flow": "destination", "amount": 20_000,
     "counts": (12, 8)},  # $2,400 a year: above Vermont's line in every year (6041(a)'s $600, $2,000 from 2026)
    {"name": "Jersey Shore Surf Co.", "state": "NJ", "city": "Atlantic City", "postal": "08401",
     "line1": "800 Boardwalk", "business_type": "company", "tin": None, "type": "custom", "flow": "direct",
     "amount": 11_000, "counts": (205, 12)},
    {"name": "Lakeshore Prints", "state": "IL", "city": "Chicago", "postal": "60614", "line1": "2200 N Clark St",
     "business_type": "individual", "tin": "ssn", "type": "express", "flow": "destination", "amount": 25_000,
     "counts": (5, 3)},
    {"name": "Golden Gate Goods", "state": "CA", "city": "San Francisco", "postal": "94103", "line1": None,
     "business_type": "company", "tin": "ein", "type": "custom", "flow": "direct", "amount": 12_000,
     "counts": (205, 10)},
    {"name": "Lone Star Tools", "state": "TX", "city": "Austin", "postal": "73301", "line1": "500 Congress Ave",
     "business_type": "individual", "tin": "ssn", "type": "custom", "flow": "direct", "amount": 10_000,
     "counts": (205, 15), "card_present": 10, "refunds": 8},
    {"name": "Empire Espresso", "state": "NY", "city": "New York", "postal": "10001", "line1": "350 5th Ave",
     "business_type": "company", "tin": "ein", "type": "standard", "flow": "direct", "amount": 8_000,
     "counts": (15, 6)},
    {"name": "Cascade Couriers", "state": "WA", "city": "Seattle", "postal": "98101", "line1": "1 Pike St",
     "business_type": "individual", "tin": "ssn", "type": "express", "flow": "transfer", "amount": 30_000,
     "counts": (12, 8)},
    {"name": "Peach State Pottery", "state": "GA", "city": "Atlanta", "postal": "30303", "line1": "55 Peachtree St",
     "business_type": "company", "tin": "ein", "type": "express", "flow": "separate", "amount": 15_000,
     "counts": (20, 10)},
    {"name": "Capitol Hill Books", "state": "DC", "city": "Washington", "postal": "20003", "line1": "657 C St SE",
     "business_type": "company", "tin": "ein", "legal_name_missing": True, "type": "express",
     "flow": "destination", "amount": 10_000, "counts": (8, 4)},
    {"name": "Old Line Outfitters", "state": "MD", "city": "Baltimore", "postal": "21201", "line1": "1 E Pratt St",
     "business_type": "company", "tin": "ein", "type": "express", "flow": "destination", "amount": 6_000,
     "counts": (10, 5), "eur": 50_000},
    {"name": "New Year Fireworks", "state": "FL", "city": "Miami", "postal": "33101", "line1": "100 Biscayne Blvd",
     "business_type": "individual", "tin": "ssn", "type": "express", "flow": "destination", "amount": 20_000,
     "counts": (3, 2), "new_year": True},
]


def year_start(year: int) -> int:
    return calendar.timegm((year, 1, 1, 0, 0, 0))


LAST_PAYMENT_BEFORE_END = 60  # seconds: the history's last designed payment, just before its end


def tax_years(end: int) -> tuple[int, int]:
    """(last full year, current year) of a history ending at `end`: the current year is the one in which
    its last payment becomes available, the newest year with balance transactions."""
    current = time.gmtime(ledger._available_on(end - LAST_PAYMENT_BEFORE_END)).tm_year
    return current - 1, current


def tax_demo_accounts(state: State, seed: int, first_index: int, end: int) -> list[Record]:
    """TAX_DEMO_ACCOUNTS with their year of activity and payouts, from their own random stream."""
    from . import seed as demo_seed

    rng = random.Random(seed * 7919 + 13)
    last_full, current = tax_years(end)
    out = []
    for k, spec in enumerate(TAX_DEMO_ACCOUNTS):
        acct = demo_seed._account(state, rng, first_index + k, end)
        _shape(acct, spec, created=min(end - 725 * DAY, year_start(last_full) - 30 * DAY))
        first_day = year_start(current) - 2 * DAY  # paid from here on, available in the current year
        windows = ((year_start(last_full), first_day - 1), (first_day, max(first_day + 3600, end - 3 * DAY)))
        for (lo, hi), count in zip(windows, spec["counts"]):
            hi = min(hi, end - LAST_PAYMENT_BEFORE_END)
            _charges(state, rng, acct, spec, _times(rng, lo, hi, count), first=lo == windows[0][0])
        if spec.get("new_year"):  # 20:00 UTC on 31 December (or the history's end, if sooner): next tax year
            for year in (last_full - 1, last_full):
                when = min(year_start(year + 1) - 4 * 3600, end - LAST_PAYMENT_BEFORE_END)
                _charges(state, rng, acct, spec, [when], first=False)
        if spec.get("eur"):
            _charge(state, rng, acct, spec, year_start(last_full) + 100 * DAY + 5 * 3600, spec["eur"], "eur")
        demo_seed._payouts(state, rng, acct, end)
        out.append(acct)
    return out


def _shape(acct: Record, spec: dict[str, Any], created: int) -> None:
    """A US account with nothing due, the spec's address and tax details."""
    person = spec["business_type"] == "individual"
    due = ["individual.id_number"] if spec["tin"] == "ssn_last4" else []
    acct.update(country="US", default_currency="usd", type=spec["type"], business_name=spec["name"],
                business_type=spec["business_type"], created=created, tos_date=created + 3600,
                tax_id_provided=spec["tin"] is not None, product_description=f"{spec['name']} sells online.",
                requirements={"eventually_due": due, "currently_due": [], "past_due": [], "pending_verification": []},
                future_requirements={}, charges_enabled=True, payouts_enabled=True, details_submitted=True,
                capabilities={"card_payments": "active", "transfers": "active"}, _profile="normal")
    acct.pop("on_behalf_of", None)
    acct["external_accounts"][0].update(country="US", currency="usd")
    legal = acct["legal"]
    legal["name"] = None if spec.get("legal_name_missing") else (None if person else spec["name"])
    legal["address"] = {"line1": spec["line1"], "city": spec["city"], "postal_code": spec["postal"],
                        "state": spec["state"]}
    # A designed case's structure is not left to chance: a sole proprietor would file with its representative's
    # SSN, and a company "without a TIN" must stay without one whatever the random stream gives.
    legal["structure"] = None if person else "multi_member_llc"


def _times(rng: random.Random, lo: int, hi: int, count: int) -> list[int]:
    return sorted(lo + rng.randrange(max(1, hi - lo)) for _ in range(count))


def _charges(state: State, rng: random.Random, acct: Record, spec: dict[str, Any], times: list[int],
             first: bool) -> None:
    """The spec's flow at these times; the first year's first few are in person, and some are refunded."""
    in_person = spec.get("card_present", 0) if first else 0
    refunds = spec.get("refunds", 0) if first else 0
    for n, t in enumerate(times):
        charge = _charge(state, rng, acct, spec, t, spec["amount"], "usd", card_present=n < in_person)
        if charge is not None and n >= len(times) - refunds:
            ledger.create_refund(state, t + DAY, charge, charge["amount"], "requested_by_customer")


def _charge(state: State, rng: random.Random, acct: Record, spec: dict[str, Any], t: int, amount: int,
            currency: str, card_present: bool = False) -> Record | None:
    """One payment in the spec's flow (a transfer alone returns None: there is no charge)."""
    flow = spec["flow"]
    if flow == "transfer":  # the platform pays a service provider: a credit transfer with no charge
        ledger.create_transfer(state, t, acct, amount, currency)
        return None
    from . import seed as demo_seed

    customer = demo_seed._customer(state, rng, "US")
    details = {"description": f"Order #{1000 + rng.randrange(99000)}", "customer_name": customer["name"],
               "customer_email": customer["email"], "card": customer["card"],
               "payment_method": customer["payment_method"], "outcome": demo_seed._risk(rng, False)}
    if card_present:
        details["payment_method_type"] = "card_present"
    fee = None if flow == "separate" else round(amount * (0.05 if flow == "direct" else 0.10))
    charge = ledger.create_charge(state, t, acct, flow, amount, currency, fee, "succeeded", details)
    if flow == "separate":
        ledger.create_transfer(state, t + 3600, acct, amount - round(amount * 0.12), currency, source_charge=charge)
    return charge
