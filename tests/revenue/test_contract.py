"""Issue 20 section 2: `connect-ops revenue --format json` can be checked from its own fields. The identities
hold exactly on the hand-built scenarios, on the demo, and on random (seeded) platforms built through the SDK."""
from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import stripe

from core.clock import utc_now
from core.emulator.launcher import start_emulator
from core.mirror.store import Store
from core.mirror.sync import sync
from core.revenue import queries
from tests.mirror.test_sync import api_for, sdk
from tests.revenue.conftest import Scenarios

ADDITIVE = ("gmv", "charges", "refunded", "application_fees", "application_fees_refunded", "implicit_fees",
            "implicit_fees_refunded", "account_debits", "account_debits_reversed", "stripe_fees", "revenue", "margin",
            "refunded_volume", "losses", "awaiting_transfer", "platform_own_sales", "charges_allocated_by_amount",
            "unconverted_transfers")


def _bps(part: int, whole: int) -> float | None:
    return round(part * 10_000 / whole, 1) if whole else None


def check_entry(entry: dict[str, Any], where: str) -> None:
    """The issue's identities, from the entry's own fields."""
    assert entry["revenue"] == (entry["application_fees"] - entry["application_fees_refunded"] + entry["implicit_fees"]
                                - entry["implicit_fees_refunded"] + entry["account_debits"]
                                - entry["account_debits_reversed"]), where
    assert entry["margin"] == entry["revenue"] - entry["stripe_fees"], where
    assert entry["take_rate_bps"] == _bps(entry["margin"], entry["gmv"]), where
    assert entry["revenue_rate_bps"] == _bps(entry["revenue"], entry["gmv"]), where
    assert entry["losses"] == sum(entry["losses_by_kind"].values()), where
    assert set(entry["losses_by_kind"]) == {"refunds", "disputes", "dispute_fees", "negative_balances"}, where
    assert entry["refunded_volume"] == entry["refunded"], where
    assert all(isinstance(entry[name], int) for name in ADDITIVE), where


def check_report(data: dict[str, Any]) -> None:
    """Every currency's total and every point of its series satisfy the identities; every series sums to its
    total (losses by kind too)."""
    assert data["currencies"], "something to check"
    for currency, entry in data["currencies"].items():
        check_entry(entry, currency)
        for point in entry["series"]:
            check_entry(point, f"{currency} {point['period']}")
        for name in ADDITIVE:
            assert sum(p[name] for p in entry["series"]) == entry[name], f"{currency} {name}"
        for kind, value in entry["losses_by_kind"].items():
            assert sum(p["losses_by_kind"][kind] for p in entry["series"]) == value, f"{currency} {kind}"


def test_identities_hold_on_the_scenarios(scenarios: Scenarios) -> None:
    check_report(queries.report(scenarios.store.cursor(), scenarios.start, scenarios.end, "day"))


def test_identities_hold_on_the_demo(synced_store) -> None:
    yesterday = utc_now().date() - timedelta(days=1)
    data = queries.report(synced_store.cursor(), yesterday - timedelta(days=364), yesterday, "month")
    check_report(data)
    usd = data["currencies"]["usd"]
    assert usd["losses"] < usd["refunded_volume"] + usd["losses_by_kind"]["disputes"] + usd["losses_by_kind"][
        "dispute_fees"] + usd["losses_by_kind"]["negative_balances"], "refunds reversed to merchants are not losses"


# --------------------------------------------------------------------------- random platforms


def _random_platform(client: stripe.StripeClient, rng: random.Random, merchants: list[str]) -> None:
    """A few dozen money movements of every kind issue 20 names, drawn from `rng`."""
    own = client.v1.charges.create(params={"amount": 500_000, "currency": "usd", "source": "tok_bypassPending"})
    assert own.status == "succeeded"
    for i in range(30):
        amount = rng.randint(5, 500) * 100 + rng.randint(0, 99)
        kind = rng.choice(["destination_fee", "destination_amount", "separate", "group", "uncaptured", "direct",
                           "own", "awaiting"])
        merchant = rng.choice(merchants)
        params: dict[str, Any] = {"amount": amount, "currency": rng.choice(["usd", "usd", "eur"]), "source": "tok_visa"}
        if kind == "destination_fee":
            params.update(application_fee_amount=amount // 10, transfer_data={"destination": merchant})
        elif kind == "destination_amount":
            params.update(transfer_data={"destination": merchant, "amount": amount - amount // 8})
        elif kind == "uncaptured":
            params.update(application_fee_amount=amount // 10, transfer_data={"destination": merchant}, capture=False)
        elif kind in ("group", "awaiting"):
            params.update(transfer_group=f"order_{i}", currency="usd", source="tok_bypassPending")
        options = {"stripe_account": merchant} if kind == "direct" else {}
        if kind == "direct":
            params.update(application_fee_amount=amount // 20)
        charge = client.v1.charges.create(params=params, options=options)
        transfer_id = getattr(charge, "transfer", None)
        if kind == "separate":
            transfer_id = client.v1.transfers.create(params={
                "amount": amount - amount // 7, "currency": params["currency"], "destination": merchant,
                "source_transaction": charge.id}).id
        elif kind == "group":
            transfer_id = client.v1.transfers.create(params={
                "amount": amount - amount // 9, "currency": "usd", "destination": merchant,
                "transfer_group": f"order_{i}"}).id
        elif kind == "uncaptured" and rng.random() < 0.5:
            client.v1.charges.capture(charge.id, params={"amount": amount - rng.randint(0, amount // 2)})
            continue
        if kind in ("uncaptured", "awaiting") or rng.random() < 0.5:
            continue
        refund = rng.randint(1, amount)
        reverse = kind.startswith("destination") and rng.random() < 0.5
        client.v1.refunds.create(params={"charge": charge.id, "amount": refund, "reverse_transfer": reverse},
                                 options=options)
        if transfer_id and not reverse and rng.random() < 0.5:
            transfer = client.v1.transfers.retrieve(transfer_id)
            client.v1.transfers.reversals.create(transfer_id, params={
                "amount": rng.randint(1, transfer.amount - transfer.amount_reversed)})


@pytest.fixture(scope="module")
def random_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, date]]:
    with start_emulator("--accounts", "6", "--charges-per-account", "5-20", "--seed", "20") as emulator:
        client = sdk(emulator)
        accounts = [a for a in client.v1.accounts.list(params={"limit": 100}).auto_paging_iter()
                    if a.type in ("custom", "express") and a.country == "US" and a.charges_enabled]
        merchants = [client.v1.accounts.create(params={"type": "custom", "country": "US"}).id for _ in range(3)]
        merchants += [a.id for a in accounts[:2]]
        _random_platform(client, random.Random(2020), merchants)
        store = Store(tmp_path_factory.mktemp("revenue-random") / "mirror.duckdb")
        sync(store, api_for(emulator, rps=400))
        today = utc_now().date()  # the emulator's history ends about now; the window covers all of it
        yield store, today
        store.close()


def test_identities_hold_on_a_random_platform(random_platform: tuple[Store, date]) -> None:
    store, today = random_platform
    data = queries.report(store.cursor(), today - timedelta(days=400), today + timedelta(days=1), "week")
    check_report(data)
    usd = data["currencies"]["usd"]
    assert usd["platform_own_sales"] >= 500_000 and usd["gmv"] > 0
