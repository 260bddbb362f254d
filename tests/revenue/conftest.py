"""Hand-built Connect scenarios, each with a known answer, made through the real `stripe` SDK against a
fresh emulator (the small demo, whose history ends before today), then synced into a DuckDB mirror.

Every scenario happens today on merchants of its own, so today's figures are exactly the scenarios' and
each merchant's figures are exactly its scenario's. Expected values are worked out by hand in EXPECTED
(Stripe's card pricing in the emulator: 2.9% + 30 cents, or + ¥50; dispute fee $15.00).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import stripe

from core.emulator.launcher import start_emulator
from core.mirror.schema import TABLES
from core.mirror.store import Store
from core.mirror.sync import sync
from tests.mirror.test_sync import api_for, control, sdk

SMALL = ("--scale", "small", "--seed", "1")
NEGATIVE_BALANCE_COVERED = 2_500  # $25.00 of a connected account's negative balance Stripe took from the platform


@dataclass
class Scenarios:
    store: Store
    accounts: dict[str, str]  # scenario -> the merchant it happened to
    objects: dict[str, Any] = field(default_factory=dict)  # what the SDK returned, by name
    start: date = date.max
    end: date = date.min

    def seen(self, obj: Any) -> Any:
        day = datetime.fromtimestamp(obj["created"], UTC).date()
        self.start, self.end = min(self.start, day), max(self.end, day)
        return obj


# scenario -> merchant's figures by currency (minor units). Stripe fees are the platform's only.
EXPECTED: dict[str, dict[str, Any]] = {
    # $100.00 destination charge, $10.00 application fee; Stripe keeps 2.9% + 30c = $3.20 of the platform's.
    "destination_fee": {"currency": "usd", "gmv": 10_000, "charges": 1, "application_fees": 1_000, "implicit_fees": 0,
                        "revenue": 1_000, "stripe_fees": 320, "margin": 680, "take_rate_bps": 680.0,
                        "revenue_rate_bps": 1000.0, "charge_type": "destination"},
    # $100.00 with transfer_data[amount] = $85.00: no fee object, the platform keeps $15.00 (an implicit fee).
    "destination_transfer_amount": {"currency": "usd", "gmv": 10_000, "application_fees": 0, "implicit_fees": 1_500,
                                    "revenue": 1_500, "stripe_fees": 320, "margin": 1_180,
                                    "charge_type": "destination"},
    # $200.00 direct charge with a $10.00 fee: Stripe's fee is the connected account's, not the platform's.
    "direct_fee": {"currency": "usd", "gmv": 20_000, "application_fees": 1_000, "revenue": 1_000, "stripe_fees": 0,
                   "margin": 1_000, "take_rate_bps": 500.0, "charge_type": "direct"},
    # $100.00 platform charge, then transfers of $60.00 and $25.00 from it: the platform keeps $15.00; the
    # charge belongs to the merchant of the larger transfer.
    "separate": {"currency": "usd", "gmv": 10_000, "implicit_fees": 1_500, "revenue": 1_500, "stripe_fees": 320,
                 "margin": 1_180, "charge_type": "separate"},
    # $100.00 destination charge with a $10.00 fee, then $40.00 refunded with the fee ($4.00) and the transfer.
    "partial_refund": {"currency": "usd", "gmv": 10_000, "refunded": 4_000, "net_gmv": 6_000,
                       "application_fees": 1_000, "application_fees_refunded": 400, "revenue": 600,
                       "stripe_fees": 320, "margin": 280, "losses": 4_000, "charge_type": "destination"},
    # $100.00 with transfer_data[amount] = $90.00, then $50.00 refunded and $45.00 of the transfer reversed:
    # half the $10.00 implicit fee goes back with the refund.
    "implicit_refund": {"currency": "usd", "gmv": 10_000, "refunded": 5_000, "implicit_fees": 1_000,
                        "implicit_fees_refunded": 500, "revenue": 500, "charge_type": "destination"},
    # $100.00 destination charge with a $10.00 fee, disputed and lost: $100.00 lost plus the $15.00 dispute fee
    # (one of Stripe's fees on the platform's balance transactions too).
    "lost_dispute": {"currency": "usd", "gmv": 10_000, "disputes_lost": 10_000, "dispute_fees": 1_500,
                     "net_gmv": 0, "application_fees": 1_000, "revenue": 1_000, "stripe_fees": 1_820,
                     "margin": -820, "losses": 11_500, "charge_type": "destination"},
    # €100.00 destination charge with a €10.00 fee, settled in the platform's USD at 1.08: Stripe's €3.20
    # became $3.46, which is €3.20 again at that rate.
    "cross_currency": {"currency": "eur", "gmv": 10_000, "application_fees": 1_000, "revenue": 1_000,
                       "stripe_fees": 320, "margin": 680, "charge_type": "destination",
                       "converted": {"gmv": 10_800, "revenue": 1_080, "stripe_fees": 346}},
    # ¥12,000 destination charge with a ¥1,200 fee (JPY has no minor unit). Stripe's ¥398 became 267 cents
    # at 0.0067, which is ¥398.5 back at that rate: ¥399 once rounded.
    "jpy": {"currency": "jpy", "gmv": 12_000, "application_fees": 1_200, "revenue": 1_200, "stripe_fees": 399,
            "margin": 801, "take_rate_bps": 667.5, "charge_type": "destination",
            "converted": {"gmv": 8_040, "revenue": 804}},
}


def _pick(client: stripe.StripeClient) -> dict[str, str]:
    """Merchants of their own for each scenario: US Express/Custom ones, a US Standard one, the JP one."""
    accounts = sorted(client.v1.accounts.list(params={"limit": 100}).auto_paging_iter(), key=lambda a: a.id)
    us = [a.id for a in accounts if a.country == "US" and a.type in ("express", "custom")]
    standard = next(a.id for a in accounts if a.country == "US" and a.type == "standard")
    japan = next(a.id for a in accounts if a.country == "JP")
    names = ["destination_fee", "destination_transfer_amount", "separate", "separate_smaller", "partial_refund",
             "implicit_refund", "lost_dispute", "cross_currency", "negative_balance"]
    return {**dict(zip(names, us)), "direct_fee": standard, "jpy": japan}


def _charge(client: stripe.StripeClient, made: Scenarios, name: str, **params: Any) -> Any:
    options = params.pop("options", {})
    charge = made.seen(client.v1.charges.create(params={"source": "tok_visa", **params}, options=options))
    made.objects[name] = charge
    return charge


def build(client: stripe.StripeClient, emulator: Any, made: Scenarios) -> None:
    """Every scenario of EXPECTED, through the SDK (and the emulator's dispute controls)."""
    acct = made.accounts
    _charge(client, made, "destination_fee", amount=10_000, currency="usd", application_fee_amount=1_000,
            transfer_data={"destination": acct["destination_fee"]})
    _charge(client, made, "destination_transfer_amount", amount=10_000, currency="usd",
            transfer_data={"destination": acct["destination_transfer_amount"], "amount": 8_500})
    _charge(client, made, "direct_fee", amount=20_000, currency="usd", application_fee_amount=1_000,
            options={"stripe_account": acct["direct_fee"]})
    charge = _charge(client, made, "separate", amount=10_000, currency="usd", transfer_group="order_42")
    for key, amount in (("separate", 6_000), ("separate_smaller", 2_500)):
        made.objects[f"transfer_{key}"] = made.seen(client.v1.transfers.create(params={
            "amount": amount, "currency": "usd", "destination": acct[key], "source_transaction": charge.id,
            "transfer_group": "order_42"}))
    charge = _charge(client, made, "partial_refund", amount=10_000, currency="usd", application_fee_amount=1_000,
                     transfer_data={"destination": acct["partial_refund"]})
    made.objects["refund"] = made.seen(client.v1.refunds.create(params={
        "charge": charge.id, "amount": 4_000, "refund_application_fee": True, "reverse_transfer": True}))
    charge = _charge(client, made, "implicit_refund", amount=10_000, currency="usd",
                     transfer_data={"destination": acct["implicit_refund"], "amount": 9_000})
    made.seen(client.v1.refunds.create(params={"charge": charge.id, "amount": 5_000, "reverse_transfer": True}))
    charge = _charge(client, made, "lost_dispute", amount=10_000, currency="usd", application_fee_amount=1_000,
                     transfer_data={"destination": acct["lost_dispute"]})
    dispute = control(emulator, "POST", "/_emulator/disputes", charge=charge.id)
    control(emulator, "POST", f"/_emulator/disputes/{dispute['id']}/close", status="lost")
    _charge(client, made, "cross_currency", amount=10_000, currency="eur", application_fee_amount=1_000,
            transfer_data={"destination": acct["cross_currency"]})
    _charge(client, made, "jpy", amount=12_000, currency="jpy", application_fee_amount=1_200,
            transfer_data={"destination": acct["jpy"]})
    made.seen(control(emulator, "POST", f"/_emulator/accounts/{acct['negative_balance']}/cover_negative_balance",
                      amount=NEGATIVE_BALANCE_COVERED, currency="usd"))


@pytest.fixture(scope="session")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenarios]:
    with start_emulator(*SMALL) as emulator:
        client = sdk(emulator)
        store = Store(tmp_path_factory.mktemp("revenue") / "mirror.duckdb")
        made = Scenarios(store=store, accounts=_pick(client))
        build(client, emulator, made)
        sync(store, api_for(emulator, rps=400))
        yield made
        store.close()


@pytest.fixture(scope="session")
def scenario_mirror(scenarios: Scenarios, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the scenarios' mirror in a file of its own, for a process of its own (the CLI)."""
    path = tmp_path_factory.mktemp("revenue-cli") / "mirror.duckdb"
    cur = scenarios.store.cursor()
    cur.execute("ATTACH ? AS copy", [str(path)])
    try:
        for table in TABLES:
            cur.execute(f"CREATE TABLE copy.{table} AS SELECT * FROM {table}")
    finally:
        cur.execute("DETACH copy")
    return path
