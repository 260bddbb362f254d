"""The demo platform: deterministic for a seed and scale, 24 months of Connect activity.

Shaped for the people who use it: a few bad merchants carry most disputes, some accounts are
past due or rejected, some share a bank account, names carry accents and apostrophes.
"""
from __future__ import annotations

import functools
import gc
import math
import random
import re
import time
from dataclasses import dataclass
from typing import Any

from . import ledger
from .ledger import DAY
from .state import PLATFORM, Record, State
from .revenue_demo import revenue_demo
from .risk_demo import risk_demo_accounts
from .tax_demo import TAX_DEMO_ACCOUNTS, tax_demo_accounts
from .tax_demo_season import tax_season_accounts


@dataclass(frozen=True)
class Scale:
    accounts: int
    charges: int
    per_account: tuple[int, int] | None = None  # a shape: each account draws fewest..most charges (uniform)


SCALES = {"small": Scale(50, 5_000), "medium": Scale(500, 100_000), "large": Scale(10_000, 1_000_000),
          "empty": Scale(0, 0)}  # a platform with no history at all (tests that build every object themselves)
SHAPE = re.compile(r"(\d+)x(\d+)(?:-(\d+))?")


def shape_name(accounts: int, fewest: int, most: int) -> str:
    """The scale name of a platform shape: `accounts` accounts with fewest..most charges each ("500x10-200")."""
    return f"{accounts}x{fewest}-{most}"


def scale_of(name: str) -> Scale:
    """A named scale, or a shape "NxLO-HI" (or "NxM"): benchmarks size platforms by accounts and charges each."""
    if name in SCALES:
        return SCALES[name]
    found = SHAPE.fullmatch(name)
    if not found:
        raise ValueError(f"unknown scale {name!r}: one of {', '.join(SCALES)} or a shape like 500x10-200")
    accounts, fewest = int(found[1]), int(found[2])
    most = int(found[3] or fewest)
    if accounts < 1 or most < fewest:
        raise ValueError(f"bad shape {name!r}: at least one account, and fewest <= most charges")
    return Scale(accounts, accounts * (fewest + most) // 2, (fewest, most))


def _charge_counts(size: Scale, seed: int, weights: list[float]) -> list[int]:
    """Charges per account: a share of the scale's total by weight, or for a shape a uniform draw each
    (own random stream, so named scales stay exactly as they were); dormant accounts (weight 0) get none."""
    total = sum(weights)
    if size.per_account is None:
        return [round(size.charges * w / total) for w in weights]
    rng = random.Random(seed * 104_729 + 5)
    return [rng.randint(*size.per_account) if w else 0 for w in weights]
HISTORY_DAYS = 730
COUNTRIES = {"US": "usd", "GB": "gbp", "FR": "eur", "DE": "eur", "CA": "cad", "JP": "jpy"}
COUNTRY_WEIGHTS = {"US": 45, "GB": 15, "FR": 10, "DE": 10, "CA": 12, "JP": 8}
TYPE_WEIGHTS = {"express": 50, "custom": 30, "standard": 20}
TYPICAL_ORDER = {"usd": 6_000, "gbp": 4_500, "eur": 5_500, "cad": 7_500, "jpy": 7_000}
FIRST = ["Ava", "Noah", "Zoë", "José", "Siobhán", "Liam", "Chloé", "Mateo", "Aiko", "Björn", "Amélie", "Ren",
         "Olivia", "D'Arcy", "Łukasz", "Nuño", "Yuki", "Grace", "Søren", "Émile"]
LAST = ["O'Brien", "García", "Müller", "Dubois", "Smith", "Tanaka", "Nguyen", "Kowalski", "Rossi", "Brontë",
        "Fernández", "Schäfer", "Moreau", "Sato", "Johnson", "Lefèvre", "MacDonald", "Ødegaard"]
SHOP_A = ["Golden", "Little", "Urban", "Crème", "Maple", "Blue", "Café", "Nordic", "Sakura", "Rustic",
          "Bright", "Wild", "Señor", "Olive", "Copper", "Sunny", "Velvet", "Brooklyn"]
SHOP_B = ["Bakery", "Bikes", "Books", "Coffee", "Florist", "Yoga", "Ceramics", "Tailor", "Records", "Garden",
          "Tea House", "Studio", "Pantry", "Goods", "Kitchen", "Workshop", "Boutique", "Market"]
SPECIAL_NAMES = ["O'Reilly's Pub & Grill", "Café Müller", "Zoë's Ünïcode Emporium 🌸", "株式会社さくら商店",
                 "Crème de la Crème Pâtisserie", "L'Atelier d'Émilie", "Smith & Sons \"Quality\" Tools",
                 "Ça Va Bistro", "100% Organic; DROP TABLE accounts;-- Farm"]
MCC = ["5812", "5942", "5999", "7298", "5462", "5941", "5945", "7399"]
DOCS_DUE = ["individual.verification.document", "external_account", "business_profile.url",
            "company.tax_id", "individual.id_number", "tos_acceptance.date", "representative.dob.day"]
# A connected account writes its own name, email, description and metadata: these try to become markup,
# a phishing link or a tracking image in an admin console. Every scale has them, seeded after everything
# else (own random stream), so the regular accounts and their activity stay exactly as they were.
HOSTILE_ACCOUNTS: list[dict[str, Any]] = [
    {"name": "[Verify your account](https://phish.example)",
     "description": "[Claim your refund](https://phish.example/refund) ![](https://tracker.example/d.png)",
     "statement_descriptor": "[PAY](PHISH.EXAMPLE)",
     "metadata": {"support_note": "[Reset your password](https://phish.example/reset)"}},
    {"name": "![x](https://tracker.example/p.png)",
     "metadata": {"logo": "![logo](https://tracker.example/m.png)"}},
    {"name": "<img src=x onerror=alert(1)>",
     "metadata": {"bio": "<script>alert(document.cookie)</script>", "note_<b>": "**bold** _it_ `code`"}},
    {"name": ("Longest Name Holdings " * 14)[:300]},
    {"name": "Refund Desk \u202emoc.elpmaxe-hsihp\u202c"},  # right-to-left override: shows "phish-example.com"
    {"name": "Pay\u200bPal\u200c Sup\u200dport\u2060 Team\ufeff"},  # zero-width characters in a familiar name
    {"name": ":red[**URGENT**] :material/warning: $x^2$ ~~Shop~~ :smile:",
     "email": "**urgent**_reply_+~~x~~@phish.example",
     "description": "# Call us\n> now\n- [Pay here](https://phish.example/pay)",
     "metadata": {"html_note": "<a href=\"https://phish.example\">Stripe</a> :material/lock: $$1$$"}},
]
HOSTILE_CHARGES = 12  # each hostile account gets a little activity, so its merchant page has every tab


def generate(seed: int = 42, scale: str = "small", anchor: int | None = None, clock_offset: float = 0.0,
             platform_currency: str = "usd") -> State:
    """Build the demo platform. `anchor` is the end of history (default: today's midnight UTC, by the
    emulator's clock, which runs `clock_offset` seconds off this machine's, as a skewed server's would)."""
    end = anchor if anchor is not None else int(time.time() + clock_offset) // DAY * DAY
    # Millions of small dicts and no reference cycles: the cyclic collector would only rescan them
    # over and over, so it is off while building. Afterwards the seeded objects are frozen out of
    # its generations, so later collections in the server do not walk them either.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        state = _generate(seed, scale, end, clock_offset, platform_currency)
    finally:
        if was_enabled:
            gc.enable()
    gc.freeze()
    return state


def _generate(seed: int, scale: str, end: int, clock_offset: float = 0.0, platform_currency: str = "usd") -> State:
    state = State(seed=seed, now=lambda: int(time.time() + clock_offset), platform_currency=platform_currency)
    state.bulk_loading = True
    state.event_cutoff = end - ledger.EVENT_RETENTION  # relative to the anchor: the same events every run
    _SHARED.clear()
    rng = random.Random(seed)
    size = scale_of(scale)
    accounts = [_account(state, rng, i, end) for i in range(size.accounts)]
    _share_bank_fingerprints(rng, accounts)
    weights = [0.0 if a["_profile"] == "dormant" else rng.lognormvariate(0, 1.1) for a in accounts]
    for acct, count in zip(accounts, _charge_counts(size, seed, weights)):
        _activity(state, rng, acct, count, end)
    if size.accounts:  # "empty": no demo at all
        _platform_payouts(state, end)
        accounts += _hostile_accounts(state, seed, size.accounts, end)
        accounts += tax_demo_accounts(state, seed, size.accounts + len(HOSTILE_ACCOUNTS), end)  # own stream, last
    _mark_unknown_fields(state, rng)
    if size.accounts:  # "empty": no demo at all. Each area's cases: own accounts, own random stream, last
        # the tax filing season's cases: after everything else (unknown fields too)
        accounts += tax_season_accounts(state, seed, size.accounts + len(HOSTILE_ACCOUNTS) + len(TAX_DEMO_ACCOUNTS),
                                        end)
        accounts += risk_demo_accounts(state, seed, len(accounts), end)
        accounts += revenue_demo(state, seed, end)  # the Revenue page's cases
    for acct in accounts:
        acct.pop("_profile", None)
        acct.pop("_index", None)
    state.finish_bulk_load()
    state.event_cutoff = None
    return state


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def _business_name(rng: random.Random, index: int) -> str:
    if index % 11 == 5:
        return SPECIAL_NAMES[(index // 11) % len(SPECIAL_NAMES)]
    return f"{rng.choice(SHOP_A)} {rng.choice(SHOP_B)}"


@functools.lru_cache(maxsize=4096)
def _slug(name: str) -> str:
    import unicodedata

    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(c for c in ascii_name.lower() if c.isalnum())[:18] or "shop"


def _email(first: str, last: str, index: int, shop: str) -> str:
    """Mostly plain ASCII; every seventh keeps the person's accents and apostrophes (valid in e-mail)."""
    local = f"{first}.{last}".lower() if index % 7 == 2 else f"{_slug(first)}.{_slug(last)}"
    return f"{local}{index}@{_slug(shop)}.example.com"


def _account(state: State, rng: random.Random, index: int, end: int) -> Record:
    country = _pick(rng, COUNTRY_WEIGHTS)
    kind = _pick(rng, TYPE_WEIGHTS)
    name = _business_name(rng, index)
    first, last = rng.choice(FIRST), rng.choice(LAST)
    created = end - rng.randint(20, HISTORY_DAYS + 30) * DAY + rng.randint(0, DAY - 1)
    profile = _profile(rng, index)
    business_type = rng.choice(["company", "individual"])
    schedule = _payout_schedule(rng)
    rec: Record = {
        "id": state.new_id("acct"), "created": created, "type": kind, "country": country,
        "default_currency": COUNTRIES[country], "business_name": name, "business_type": business_type,
        "email": _email(first, last, index, name),
        "support_email": f"support@{_slug(name)}.example.com",
        "support_phone": f"+1555{index:07d}", "url": f"https://{_slug(name)}.example.com",
        "mcc": rng.choice(MCC), "product_description": f"{name} sells online and in store.",
        "statement_descriptor": _slug(name).upper()[:22] or "DEMO SHOP",
        "capabilities": {"card_payments": "active", "transfers": "active"},
        "charges_enabled": True, "payouts_enabled": True, "details_submitted": True,
        "requirements": {}, "future_requirements": {}, "payout_schedule": schedule,
        "external_accounts": [_bank(state, rng, country)],
        "metadata": {"platform_user_id": f"usr_{10_000 + index}", "signup_channel": rng.choice(["web", "ios", "partner"])},
        "tax_id_provided": country == "US" and rng.random() < 0.85,
        "legal": {"first_name": first, "last_name": last, "name": name, "person_id": state.new_id("person"),
                  "structure": rng.choice(["single_member_llc", "multi_member_llc", "sole_proprietorship", None]),
                  "address": {"line1": f"{rng.randint(1, 999)} {rng.choice(LAST)} Street", "city": "Springfield",
                              "postal_code": f"{rng.randint(10000, 99999)}",
                              "state": rng.choice(["CA", "NY", "TX", "WA", "IL"]) if country == "US" else None}},
        "tos_date": created + 3600, "_profile": profile, "_index": index,
    }
    _requirements(rng, rec, end)
    if kind != "standard" and rng.random() < 0.1:
        rec["on_behalf_of"] = True
    return state.add("accounts", rec, PLATFORM)


def _hostile_accounts(state: State, seed: int, first_index: int, end: int) -> list[Record]:
    """HOSTILE_ACCOUNTS as enabled accounts with nothing due and a little activity, from their own stream."""
    rng = random.Random(seed * 7919 + 11)
    out: list[Record] = []
    for k, spec in enumerate(HOSTILE_ACCOUNTS):
        acct = _account(state, rng, first_index + k, end)
        name = spec["name"]
        acct.update(business_name=name, product_description=spec.get("description", f"{name} sells online."),
                    statement_descriptor=spec.get("statement_descriptor", acct["statement_descriptor"]),
                    requirements={"eventually_due": [], "currently_due": [], "past_due": [], "pending_verification": []},
                    future_requirements={}, charges_enabled=True, payouts_enabled=True, details_submitted=True,
                    capabilities={"card_payments": "active", "transfers": "active"}, _profile="normal")
        acct["email"] = spec.get("email", acct["email"])
        acct["legal"]["name"] = name
        acct["metadata"].update(spec.get("metadata", {}))
        _activity(state, rng, acct, HOSTILE_CHARGES, end)
        out.append(acct)
    return out


def _profile(rng: random.Random, index: int) -> str:
    if index == 3:
        return "dormant"
    roll = rng.random()
    return "bad" if roll < 0.05 else "spike" if roll < 0.09 else "normal"


def _payout_schedule(rng: random.Random) -> dict[str, Any]:
    interval = _pick(rng, {"daily": 20, "weekly": 55, "monthly": 15, "manual": 10})
    schedule: dict[str, Any] = {"interval": interval, "delay_days": 2 if interval != "manual" else 7}
    if interval == "weekly":
        schedule["weekly_anchor"] = "monday"
    if interval == "monthly":
        schedule["monthly_anchor"] = 1
    return schedule


def _bank(state: State, rng: random.Random, country: str) -> Record:
    return {"id": state.new_id("ba"), "fingerprint": state.new_id("fp")[3:19], "last4": f"{rng.randint(0, 9999):04d}",
            "bank_name": rng.choice(["STRIPE TEST BANK", "Banque Démo", "Sparkasse Beispiel", "みずほ銀行 (demo)",
                                     "First Maple Bank"]),
            "country": country, "currency": COUNTRIES[country], "routing_number": "110000000",
            "account_holder_name": None, "status": "new"}


def _share_bank_fingerprints(rng: random.Random, accounts: list[Record]) -> None:
    """A few merchants pay out to the same bank account: a classic risk signal."""
    for i in range(7, len(accounts), 23):
        other = accounts[rng.randrange(len(accounts))]
        if other is not accounts[i]:
            accounts[i]["external_accounts"][0]["fingerprint"] = other["external_accounts"][0]["fingerprint"]


def _requirements(rng: random.Random, rec: Record, end: int) -> None:
    roll = rng.random()
    due = rng.sample(DOCS_DUE, 2)
    req: dict[str, Any] = {"eventually_due": [], "currently_due": [], "past_due": [], "pending_verification": []}
    if roll < 0.03:
        req["disabled_reason"] = "rejected.fraud"
        _disable(rec)
    elif roll < 0.09:
        req.update(past_due=due, currently_due=due, eventually_due=due, disabled_reason="requirements.past_due")
        _disable(rec)
    elif roll < 0.17:
        req.update(currently_due=due, eventually_due=due, current_deadline=end + rng.randint(3, 20) * DAY)
    elif roll < 0.21:
        req.update(pending_verification=due[:1], disabled_reason="requirements.pending_verification")
        rec["payouts_enabled"] = False
    elif roll < 0.23:
        req.update(currently_due=DOCS_DUE[:4], eventually_due=DOCS_DUE, past_due=DOCS_DUE[:4],
                   disabled_reason="requirements.past_due")
        rec["details_submitted"] = False
        _disable(rec)
    elif roll < 0.45:
        req["eventually_due"] = due[:1]
    rec["requirements"] = req
    if rng.random() < 0.12:
        rec["future_requirements"] = {"eventually_due": ["company.ownership_declaration"],
                                      "currently_due": ["company.ownership_declaration"],
                                      "current_deadline": end + rng.randint(30, 120) * DAY}


def _disable(rec: Record) -> None:
    rec["charges_enabled"] = False
    rec["payouts_enabled"] = False
    rec["capabilities"] = {"card_payments": "inactive", "transfers": "inactive"}


def _activity(state: State, rng: random.Random, acct: Record, count: int, end: int) -> None:
    """Charges, refunds, disputes, then payouts of what settled, for one merchant."""
    if count <= 0:
        return
    bad = acct["_profile"] == "bad"
    start = acct["created"] + DAY
    if start >= end:
        return
    below, width = rng._randbelow, end - start  # as rng.randint(start, end - 1), with less overhead
    times = sorted([start + below(width) for _ in range(count)])
    if acct["_profile"] == "spike":
        spike = max(1, count // 3)
        times = sorted(times[spike:] + [rng.randint(end - 14 * DAY, end - 1) for _ in range(spike)])
    currency = acct["default_currency"]
    for t in times:
        _one_charge(state, rng, acct, t, currency, bad, end)
    _payouts(state, rng, acct, end)


# Values that repeat across a million charges (names, last4s, risk outcomes) are stored once.
_SHARED: dict[Any, Any] = {}
COUNTRY_CODES = list(COUNTRIES)
CENTS = [0, 0, 0, 99, 50, 95]
ORDER_KINDS = ["Order", "Subscription box", "Gift card", "Booking", "Commande"]
BRANDS = ["visa", "visa", "mastercard", "amex"]
FUNDING = ["credit", "debit"]


CUSTOMERS_PER_COUNTRY = 4_000


def _customer(state: State, rng: random.Random, country: str) -> dict[str, Any]:
    """Buyers come back: each country has a pool of customers, each with one card (shared, never mutated)."""
    below = rng._randbelow
    key = ("customer", country, below(CUSTOMERS_PER_COUNTRY))
    found = _SHARED.get(key)
    if found is None:
        first, last = FIRST[below(len(FIRST))], LAST[below(len(LAST))]
        card = {"brand": BRANDS[below(4)], "last4": f"{below(10000):04d}",
                "country": country if rng.random() < 0.8 else COUNTRY_CODES[below(len(COUNTRY_CODES))],
                "fingerprint": state.new_id("fp")[3:19], "exp_month": 1 + below(12), "exp_year": 2027 + below(6),
                "funding": FUNDING[below(2)]}
        found = _SHARED[key] = {"name": f"{first} {last}", "email": f"{_slug(first)}.{_slug(last)}@mail.example",
                                "card": card, "payment_method": state.new_id("pm")}
    return found


def _one_charge(state: State, rng: random.Random, acct: Record, t: int, currency: str, bad: bool, end: int) -> None:
    amount = max(ledger.minor_per_unit(currency) * (50 if currency == "jpy" else 1),
                 round(rng.lognormvariate(math.log(TYPICAL_ORDER[currency]), 0.8)))
    # The hot path draws through `_randbelow`, exactly as randint/choice do (randint(a, b) is
    # a + _randbelow(b - a + 1), choice(s) is s[_randbelow(len(s))]): the same numbers, less overhead.
    below = rng._randbelow
    if currency != "jpy":
        amount = amount // 100 * 100 + CENTS[below(6)]
    failed = rng.random() < (0.09 if bad else 0.03)
    risk = _risk(rng, bad)
    customer = _customer(state, rng, acct["country"])
    details = {"description": ORDER_KINDS[below(5)] + f" #{1000 + below(99000)}",
               "customer_name": customer["name"], "customer_email": customer["email"], "card": customer["card"],
               "payment_method": customer["payment_method"], "outcome": risk,
               "metadata": {"order_id": f"ord_{10**6 + below(10**7 - 10**6 + 1)}"}}
    if failed:
        details.update(failure_code=rng.choice(["card_declined", "expired_card", "insufficient_funds"]),
                       failure_message="Your card was declined.")
    flow = "direct" if acct["type"] == "standard" else ("separate" if rng.random() < 0.2 else "destination")
    fee = round(amount * (0.05 if flow == "direct" else 0.10))
    charge = ledger.create_charge(state, t, acct, flow, amount, currency, None if flow == "separate" else fee,
                                  "failed" if failed else "succeeded", details)
    if failed:
        return
    if flow == "separate":
        transfer_t = min(end - 1, t + rng.randint(60, 6 * 3600))
        ledger.create_transfer(state, transfer_t, acct, amount - round(amount * 0.12), currency,
                               source_charge=charge)
    if rng.random() < (0.16 if bad else 0.05):
        when = min(end - 1, t + rng.randint(3600, 20 * DAY))
        partial = rng.random() < 0.3
        value = max(1, amount // rng.choice([2, 3, 4])) if partial else amount
        ledger.create_refund(state, when, charge, value, rng.choice(["requested_by_customer", "duplicate", None]),
                             refund_application_fee=rng.random() < 0.5, reverse_transfer=flow == "destination")
    elif rng.random() < (0.03 if bad else 0.001) and charge["amount_refunded"] == 0:
        opened = min(end - 1, t + rng.randint(5, 40) * DAY)
        status = ("won" if rng.random() < 0.4 else "lost") if end - opened > 30 * DAY else \
            rng.choice(["needs_response", "under_review", "warning_needs_response"])
        ledger.create_dispute(state, opened, charge, rng.choice(["fraudulent", "product_not_received",
                                                                 "duplicate", "subscription_canceled"]), status)


def _risk(rng: random.Random, bad: bool) -> dict[str, Any]:
    """A charge's outcome; one shared dict per distinct outcome (nothing mutates them)."""
    roll = rng.random()
    if roll < (0.05 if bad else 0.005):
        key = ("highest", rng.randint(76, 99), "highest_risk_level")
    elif roll < (0.25 if bad else 0.04):
        key = ("elevated", rng.randint(66, 75), "elevated_risk_level")
    else:
        key = ("normal", rng.randint(1, 64), None)
    found = _SHARED.get(key)
    if found is None:
        found = _SHARED[key] = {"risk_level": key[0], "risk_score": key[1], "reason": key[2]}
    return found


PERIOD_DAYS = {"daily": 1, "weekly": 7, "monthly": 30}


def _payouts(state: State, rng: random.Random, acct: Record, end: int) -> None:
    """Pay out what became available, period by period, per the account's schedule."""
    period = PERIOD_DAYS.get(acct["payout_schedule"]["interval"])
    if period is None or not acct["payouts_enabled"]:
        return
    coll = state.collection(acct["id"], "balance_transactions")
    txns = sorted((state.records[i] for i in coll.ids), key=lambda r: r["available_on"])
    buckets: dict[int, int] = {}
    for txn in txns:
        net = ledger.net_of(txn)
        key = txn["available_on"] // (period * DAY)
        buckets[key] = buckets.get(key, 0) + net
    carried = 0
    destination = acct["external_accounts"][0]["id"]
    # A few merchants' banks bounce payouts: every 13th account for sure (so every scale has some), a few more by chance.
    failing = acct["_index"] % 13 == 6 or rng.random() < 0.04
    keys = sorted(buckets)
    for n, key in enumerate(keys):
        carried += buckets[key]
        when = (key + 1) * period * DAY + 4 * 3600
        if carried <= 0 or when >= end:
            continue
        fails = failing and (n == len(keys) - 2 or (n >= len(keys) - 3 and rng.random() < 0.5))
        status = "failed" if fails else ("paid" if when + 2 * DAY < end else "in_transit")
        ledger.create_payout(state, when, acct["id"], carried, acct["default_currency"], destination, status,
                             rng.choice(["account_closed", "no_account", "could_not_process"]))
        if not fails:
            carried = 0


def _platform_payouts(state: State, end: int) -> None:
    """The platform sweeps its own available USD balance weekly."""
    coll = state.collection(PLATFORM, "balance_transactions")
    weekly: dict[int, int] = {}
    for txn_id in coll.ids:
        txn = state.records[txn_id]
        net = ledger.net_of(txn)
        weekly[txn["available_on"] // (7 * DAY)] = weekly.get(txn["available_on"] // (7 * DAY), 0) + net
    carried = 0
    for week in sorted(weekly):
        carried += weekly[week]
        when = (week + 1) * 7 * DAY + 6 * 3600
        if carried > 0 and when < end:
            ledger.create_payout(state, when, PLATFORM, carried, state.platform_currency, "ba_platform_demo",
                                 "paid" if when + 2 * DAY < end else "in_transit")
            carried = 0


def _mark_unknown_fields(state: State, rng: random.Random) -> None:
    """Stripe adds fields all the time; some demo objects carry ones our code has never seen."""
    for i, acct_id in enumerate(state.collection(PLATFORM, "accounts").ids):
        if i % 10 == 1:
            state.records[acct_id]["extra"] = {"groups": {"payments_pricing": "default"}}
    for i, charge_id in enumerate(state.collection(PLATFORM, "charges").ids):
        if i % 50 == 7:
            rec = state.records[charge_id]
            rec["extra"] = {"presentment_details": {"presentment_amount": rec["amount"],
                                                    "presentment_currency": rec["currency"]}}
