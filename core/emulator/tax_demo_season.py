"""US accounts for the Tax forms page's filing-season cases (issue 22), seeded after everything else.

Each is a known answer the page shows on the demo (last full year, by the anchor):
- a North Carolina account between $600 and the federal line: NC follows the IRS threshold, no state form;
- service providers paid by transfers, for the 1099-NEC: one in California (Combined Federal/State Filing:
  the IRS forwards the form) and one in Massachusetts (filed with the state directly);
- an account that sells only in euros, over the line once converted: without a rate of the day it needs
  attention ("Exchange rate missing"), never dropped;
- a sole proprietor with no EIN, whose representative's SSN Stripe files with: Ready, no "TIN missing".
The last two have 215 payments: a few may become available in January and still leave more than 200.
A late refund after filing is a test-time action (tests/tax/test_season_actions.py), not seeded.

They draw from their own random stream (`random.Random(f"{seed}-tax-season")`) and are created after the rest
of the demo, so no other account, charge or id changes.
"""
from __future__ import annotations

import random
from typing import Any

from . import tax_demo
from .ledger import DAY
from .state import Record, State

SEASON_ACCOUNTS: list[dict[str, Any]] = [
    {"name": "Tar Heel Textiles", "state": "NC", "city": "Raleigh", "postal": "27601", "line1": "1 Fayetteville St",
     "business_type": "company", "tin": "ein", "type": "express", "flow": "destination", "amount": 10_000,
     "counts": (12, 4), "case": "nc_between"},
    {"name": "Sunset Studio Services", "state": "CA", "city": "Los Angeles", "postal": "90028",
     "line1": "6801 Hollywood Blvd", "business_type": "individual", "tin": "ssn", "type": "express",
     "flow": "transfer", "amount": 25_000, "counts": (10, 2), "case": "nec_combined"},  # $2,500: over $2,000 too
    {"name": "Back Bay Design Co.", "state": "MA", "city": "Boston", "postal": "02116", "line1": "500 Boylston St",
     "business_type": "company", "tin": "ein", "type": "express", "flow": "transfer", "amount": 30_000,
     "counts": (8, 2), "case": "nec_direct"},  # $2,400 a year: over the NEC line in every year ($600; $2,000 from 2026)
    {"name": "Alpen Imports", "state": "TX", "city": "Houston", "postal": "77002", "line1": "901 Bagby St",
     "business_type": "company", "tin": "ein", "type": "custom", "flow": "direct", "amount": 10_000,
     "counts": (215, 10), "currency": "eur", "case": "eur_only"},
    {"name": "Prairie Fix-It", "state": "TX", "city": "Dallas", "postal": "75201", "line1": "1500 Marilla St",
     "business_type": "company", "tin": None, "structure": "sole_proprietorship", "type": "custom",
     "flow": "direct", "amount": 11_000, "counts": (215, 10), "case": "sole_proprietor"},
]


def tax_season_accounts(state: State, seed: int, first_index: int, end: int) -> list[Record]:
    """SEASON_ACCOUNTS with a year of activity and payouts, from their own random stream."""
    from . import seed as demo_seed

    rng = random.Random(f"{seed}-tax-season")
    last_full, current = tax_demo.tax_years(end)
    out = []
    for k, spec in enumerate(SEASON_ACCOUNTS):
        acct = demo_seed._account(state, rng, first_index + k, end)
        tax_demo._shape(acct, spec, created=min(end - 725 * DAY, tax_demo.year_start(last_full) - 30 * DAY))
        acct["legal"]["structure"] = spec.get("structure")
        windows = ((tax_demo.year_start(last_full), tax_demo.year_start(current) - DAY),
                   (tax_demo.year_start(current), max(tax_demo.year_start(current) + 3600, end - 3 * DAY)))
        for (lo, hi), count in zip(windows, spec["counts"]):
            for t in tax_demo._times(rng, lo, min(hi, end - 60), count):
                tax_demo._charge(state, rng, acct, spec, t, spec["amount"], spec.get("currency", "usd"))
        demo_seed._payouts(state, rng, acct, end)
        out.append(acct)
    return out
