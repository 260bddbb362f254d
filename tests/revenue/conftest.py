"""Hand-built Connect scenarios, each with a known answer, made through the real `stripe` SDK against a
fresh emulator (the small demo, whose history ends before today), then synced into a DuckDB mirror.

Every scenario happens today on merchants of its own, so today's figures are exactly the scenarios' and
each merchant's figures are exactly its scenario's. Expected values are worked out by hand in EXPECTED
(Stripe's card pricing in the emulator: 2.9% + 30 cents, or + ¥50; dispute fee $15.00).

The references for issue 20's cases: Stripe's "Separate charges and transfers" (source_transaction is optional;
a transfer_group ties transfers to charges: https://docs.stripe.com/connect/separate-charges-and-transfers),
"Transfer reversals" ("reversals add to the platform's balance": https://docs.stripe.com/api/transfer_reversals),
"Platform earnings report" (platform-level charges are not Connect volume; revenue includes "net earnings from
transfers": https://docs.stripe.com/connect/platform-earnings-report), "Fee behavior on connected accounts" (with
controller.fees.payer = application the platform pays direct charges' payment fees:
https://docs.stripe.com/connect/direct-charges-fee-payer-behavior) and the charge object's amount_captured
(https://docs.stripe.com/api/charges/object).
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
PLATFORM_OWN_SALE = 100_000  # $1,000.00 platform charge, no transfer, destination or group: the platform's own
AWAITING = 7_000  # $70.00 separate charge in group order_wait, no transfer yet: held for an account, not revenue


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
    # $100.00 destination charge with a $10.00 fee, then $40.00 refunded with the fee ($4.00) and the transfer:
    # the $40.00 came back from the merchant, so the platform lost nothing (refunded volume is still $40.00).
    "partial_refund": {"currency": "usd", "gmv": 10_000, "refunded": 4_000, "net_gmv": 6_000,
                       "application_fees": 1_000, "application_fees_refunded": 400, "revenue": 600,
                       "stripe_fees": 320, "margin": 280, "losses": 0, "charge_type": "destination"},
    # $100.00 with transfer_data[amount] = $90.00, then $50.00 refunded with reverse_transfer ($45.00 of the
    # transfer back): the platform keeps 100 - 50 - 90 + 45 = $5.00.
    "implicit_refund": {"currency": "usd", "gmv": 10_000, "refunded": 5_000, "implicit_fees": 1_000,
                        "implicit_fees_refunded": 500, "revenue": 500, "losses": 0, "charge_type": "destination"},
    # $100.00 destination charge with a $10.00 fee, disputed and lost: the platform's balance pays the $100.00 and
    # the $15.00 dispute fee (counted once, in losses; Stripe's fees are the $3.20 processing fee).
    "lost_dispute": {"currency": "usd", "gmv": 10_000, "disputes_lost": 10_000, "dispute_fees": 1_500,
                     "net_gmv": 0, "application_fees": 1_000, "revenue": 1_000, "stripe_fees": 320,
                     "margin": 680, "losses": 11_500, "losses_disputes": 10_000, "charge_type": "destination"},
    # $100.00 separate charge in group order_g1, and a $90.00 transfer naming only the group (no
    # source_transaction): the platform keeps $10.00, and the charge is that merchant's.
    "group_only": {"currency": "usd", "gmv": 10_000, "charges": 1, "implicit_fees": 1_000, "revenue": 1_000,
                   "stripe_fees": 320, "margin": 680, "awaiting_transfer": 0, "charge_type": "separate"},
    # Group order_g2: charges of $60.00 and $40.00, transfers of $50.00 and $30.00 (to another merchant),
    # all by group only. Shared by amount: the $60.00 charge draws 30.00 + 18.00, the $40.00 one 20.00 + 12.00;
    # both belong to this merchant (its transfer is each charge's larger share). Kept: 12.00 + 8.00.
    "group_shared": {"currency": "usd", "gmv": 10_000, "charges": 2, "implicit_fees": 2_000, "revenue": 2_000,
                     "stripe_fees": 174 + 30 + 116 + 30, "charges_allocated": 2, "charge_type": "separate"},
    # $100.00 separate charge, $90.00 transfer from it, $50.00 refunded and $50.00 of the transfer reversed:
    # the platform keeps 100 - 50 - 90 + 50 = $10.00 and loses nothing.
    "reversal_full": {"currency": "usd", "gmv": 10_000, "refunded": 5_000, "implicit_fees": 1_000,
                      "implicit_fees_refunded": 0, "revenue": 1_000, "losses": 0, "charge_type": "separate"},
    # $100.00 with transfer_data[amount] = $90.00, $50.00 refunded without reversing, then $60.00 of the transfer
    # reversed (more than the refund's $45.00 share): 100 - 50 - 90 + 60 = $20.00 kept.
    "reversal_larger": {"currency": "usd", "gmv": 10_000, "refunded": 5_000, "implicit_fees": 1_000,
                        "implicit_fees_refunded": -1_000, "revenue": 2_000, "losses": 0,
                        "charge_type": "destination"},
    # $100.00 destination charge with a $10.00 fee, $40.00 refunded without reversing the transfer: the
    # platform's balance paid the $40.00 and got nothing back: a $40.00 loss, revenue untouched.
    "refund_not_reversed": {"currency": "usd", "gmv": 10_000, "refunded": 4_000, "application_fees": 1_000,
                            "revenue": 1_000, "losses": 4_000, "losses_refunds": 4_000,
                            "charge_type": "destination"},
    # $100.00 destination charge ($10.00 fee) authorized, never captured: no volume, no money.
    "uncaptured": {"currency": "usd", "gmv": 0, "charges": 0, "refunded": 0, "revenue": 0, "stripe_fees": 0,
                   "charge_type": "destination"},
    # $100.00 destination charge ($10.00 fee) authorized, $60.00 captured: GMV $60.00; the $40.00 released is not
    # a refund. Stripe's fee is on $60.00: 1.74 + 0.30.
    "partial_capture": {"currency": "usd", "gmv": 6_000, "charges": 1, "refunded": 0, "application_fees": 1_000,
                        "revenue": 1_000, "stripe_fees": 204, "margin": 796, "charge_type": "destination"},
    # €100.00 separate charge settled at 1.08 into the platform's USD ($108.00), then a $90.00 transfer from it:
    # kept $18.00, i.e. €100.00 - $90.00 / 1.08 = €100.00 - €83.33 = €16.67 (back in USD: 1667 x 1.08 = $18.00).
    "cross_currency_transfer": {"currency": "eur", "gmv": 10_000, "implicit_fees": 1_667, "revenue": 1_667,
                                "stripe_fees": 320, "charge_type": "separate",
                                "converted": {"gmv": 10_800, "revenue": 1_800}},
    # $200.00 direct charge with a $10.00 fee on an account whose controller.fees.payer is application: the
    # platform pays Stripe's 5.80 + 0.30. Then a $50.00 direct charge there, disputed and lost: the account bears
    # the $50.00, the platform pays Stripe's 1.45 + 0.30 and the $15.00 dispute fee (a loss). Margin:
    # 10.00 - 6.10 - 1.75 = $2.15.
    "fee_payer_application": {"currency": "usd", "gmv": 25_000, "application_fees": 1_000, "revenue": 1_000,
                              "stripe_fees": 610 + 175, "margin": 215, "disputes_lost": 5_000,
                              "losses_disputes": 0, "dispute_fees": 1_500, "losses": 1_500, "charge_type": "direct"},
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


NEW_MERCHANTS = ("group_only", "group_shared", "group_shared_other", "reversal_full", "reversal_larger",
                 "refund_not_reversed", "uncaptured", "partial_capture", "cross_currency_transfer")


def _pick(client: stripe.StripeClient) -> dict[str, str]:
    """Merchants of their own for each scenario: US Express/Custom ones, a US Standard one, the JP one, and
    new Custom accounts for issue 20's cases (one whose platform pays Stripe's fees)."""
    accounts = sorted(client.v1.accounts.list(params={"limit": 100}).auto_paging_iter(), key=lambda a: a.id)
    us = [a.id for a in accounts if a.country == "US" and a.type in ("express", "custom")]
    standard = next(a.id for a in accounts if a.country == "US" and a.type == "standard")
    japan = next(a.id for a in accounts if a.country == "JP")
    names = ["destination_fee", "destination_transfer_amount", "separate", "separate_smaller", "partial_refund",
             "implicit_refund", "lost_dispute", "cross_currency", "negative_balance"]
    made = {name: client.v1.accounts.create(params={"type": "custom", "country": "US"}).id for name in NEW_MERCHANTS}
    made["fee_payer_application"] = client.v1.accounts.create(params={
        "type": "custom", "country": "US", "controller": {"fees": {"payer": "application"}}}).id
    return {**dict(zip(names, us)), "direct_fee": standard, "jpy": japan, **made}


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
    build_issue_20(client, emulator, made)


def _transfer(client: stripe.StripeClient, made: Scenarios, **params: Any) -> Any:
    return made.seen(client.v1.transfers.create(params={"currency": "usd", **params}))


def build_issue_20(client: stripe.StripeClient, emulator: Any, made: Scenarios) -> None:
    """Issue 20's cases. Transfers by group only draw on the available balance: the platform's own sale and the
    group charges use Stripe's tok_bypassPending test card, whose funds are available at once."""
    acct = made.accounts
    _charge(client, made, "platform_own", amount=PLATFORM_OWN_SALE, currency="usd", description="Pro plan",
            source="tok_bypassPending")
    _charge(client, made, "group_only", amount=10_000, currency="usd", transfer_group="order_g1",
            source="tok_bypassPending")
    _transfer(client, made, amount=9_000, destination=acct["group_only"], transfer_group="order_g1")
    _charge(client, made, "group_shared", amount=6_000, currency="usd", transfer_group="order_g2",
            source="tok_bypassPending")
    _charge(client, made, "group_shared_b", amount=4_000, currency="usd", transfer_group="order_g2",
            source="tok_bypassPending")
    _transfer(client, made, amount=5_000, destination=acct["group_shared"], transfer_group="order_g2")
    _transfer(client, made, amount=3_000, destination=acct["group_shared_other"], transfer_group="order_g2")
    charge = _charge(client, made, "reversal_full", amount=10_000, currency="usd")
    transfer = _transfer(client, made, amount=9_000, destination=acct["reversal_full"], source_transaction=charge.id)
    made.seen(client.v1.refunds.create(params={"charge": charge.id, "amount": 5_000}))
    made.seen(client.v1.transfers.reversals.create(transfer.id, params={"amount": 5_000}))
    charge = _charge(client, made, "reversal_larger", amount=10_000, currency="usd",
                     transfer_data={"destination": acct["reversal_larger"], "amount": 9_000})
    made.seen(client.v1.refunds.create(params={"charge": charge.id, "amount": 5_000}))
    made.seen(client.v1.transfers.reversals.create(charge.transfer, params={"amount": 6_000}))
    charge = _charge(client, made, "refund_not_reversed", amount=10_000, currency="usd", application_fee_amount=1_000,
                     transfer_data={"destination": acct["refund_not_reversed"]})
    made.seen(client.v1.refunds.create(params={"charge": charge.id, "amount": 4_000}))
    _charge(client, made, "uncaptured", amount=10_000, currency="usd", application_fee_amount=1_000,
            transfer_data={"destination": acct["uncaptured"]}, capture=False)
    charge = _charge(client, made, "partial_capture", amount=10_000, currency="usd", application_fee_amount=1_000,
                     transfer_data={"destination": acct["partial_capture"]}, capture=False)
    made.objects["partial_capture"] = client.v1.charges.capture(charge.id, params={"amount": 6_000})
    charge = _charge(client, made, "cross_currency_transfer", amount=10_000, currency="eur")
    _transfer(client, made, amount=9_000, destination=acct["cross_currency_transfer"], source_transaction=charge.id)
    _charge(client, made, "fee_payer_application", amount=20_000, currency="usd", application_fee_amount=1_000,
            options={"stripe_account": acct["fee_payer_application"]})
    disputed = _charge(client, made, "fee_payer_disputed", amount=5_000, currency="usd",
                       options={"stripe_account": acct["fee_payer_application"]})
    dispute = control(emulator, "POST", "/_emulator/disputes", charge=disputed.id)
    control(emulator, "POST", f"/_emulator/disputes/{dispute['id']}/close", status="lost")
    _charge(client, made, "awaiting", amount=AWAITING, currency="usd", transfer_group="order_wait")


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
