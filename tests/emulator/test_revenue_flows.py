"""The money movements issue 20 needs, on the emulator's wire as Stripe documents them: authorize then capture
(https://docs.stripe.com/api/charges/capture), transfers linked by transfer_group only
(https://docs.stripe.com/connect/separate-charges-and-transfers), fees paid by the platform for direct charges
(https://docs.stripe.com/connect/direct-charges-fee-payer-behavior), a transfer in the currency a charge
settled in, and the platform's own default_currency. Every movement has its balance transaction in its scope."""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import stripe

from core.emulator.launcher import EmulatorProcess, start_emulator
from tests.conftest import client_for


@pytest.fixture(scope="module")
def empty() -> Iterator[EmulatorProcess]:
    with start_emulator("--scale", "empty") as process:
        yield process


def _txns(client: stripe.StripeClient, source: str | None = None, account: str | None = None) -> list:
    options = {"stripe_account": account} if account else {}
    found = client.v1.balance_transactions.list(params={"limit": 100}, options=options).data
    return [t for t in found if source is None or t.source == source]


def test_authorize_then_capture_part(empty: EmulatorProcess) -> None:
    client = client_for(empty)
    merchant = client.v1.accounts.create(params={"type": "custom", "country": "US"}).id
    charge = client.v1.charges.create(params={"amount": 10_000, "currency": "usd", "source": "tok_visa",
                                              "application_fee_amount": 1_000, "capture": False,
                                              "transfer_data": {"destination": merchant}})
    assert (charge.status, charge.captured, charge.amount_captured, charge.balance_transaction) == (
        "succeeded", False, 0, None)
    assert getattr(charge, "transfer", None) is None and charge.application_fee is None
    with pytest.raises(stripe.InvalidRequestError, match="not been captured"):
        client.v1.refunds.create(params={"charge": charge.id})
    captured = client.v1.charges.capture(charge.id, params={"amount": 6_000})
    assert (captured.captured, captured.amount_captured, captured.amount_refunded, captured.refunded) == (
        True, 6_000, 4_000, False)
    (txn,) = _txns(client, charge.id)
    assert (txn.amount, txn.fee) == (6_000, round(6_000 * 0.029) + 30)
    transfer = client.v1.transfers.retrieve(captured.transfer)
    assert (transfer.amount, transfer.source_transaction) == (6_000, charge.id)
    with pytest.raises(stripe.InvalidRequestError, match="already been captured"):
        client.v1.charges.capture(charge.id)


def test_transfers_by_group_only_and_in_the_settlement_currency(empty: EmulatorProcess) -> None:
    client = client_for(empty)
    merchant = client.v1.accounts.create(params={"type": "custom", "country": "US"}).id
    own = client.v1.charges.create(params={"amount": 5_000, "currency": "usd", "source": "tok_visa"})
    assert own.transfer_group is None, "a platform charge has no group unless one is given"
    grouped = client.v1.charges.create(params={"amount": 10_000, "currency": "usd", "source": "tok_bypassPending",
                                               "transfer_group": "order_7"})
    transfer = client.v1.transfers.create(params={"amount": 9_000, "currency": "usd", "destination": merchant,
                                                  "transfer_group": "order_7"})
    assert (transfer.source_transaction, transfer.transfer_group) == (None, "order_7")
    assert grouped.transfer_group == "order_7"
    euro = client.v1.charges.create(params={"amount": 10_000, "currency": "eur", "source": "tok_visa"})
    (settled,) = _txns(client, euro.id)
    assert (settled.currency, settled.amount, settled.exchange_rate) == ("usd", 10_800, 1.08)
    usd = client.v1.transfers.create(params={"amount": 9_000, "currency": "usd", "destination": merchant,
                                             "source_transaction": euro.id})
    assert (usd.currency, usd.source_transaction) == ("usd", euro.id)
    assert client.v1.charges.retrieve(euro.id).transfer_group, "a charge that funds a transfer joins a group"
    with pytest.raises(stripe.InvalidRequestError, match="exceed"):
        client.v1.transfers.create(params={"amount": 1_801, "currency": "usd", "destination": merchant,
                                           "source_transaction": euro.id})


def test_the_platform_pays_direct_charge_fees_for_application_payer_accounts(empty: EmulatorProcess) -> None:
    client = client_for(empty)
    merchant = client.v1.accounts.create(params={"type": "custom", "country": "US",
                                                 "controller": {"fees": {"payer": "application"}}})
    assert merchant.controller.fees.payer == "application"
    charge = client.v1.charges.create(params={"amount": 20_000, "currency": "usd", "source": "tok_visa",
                                              "application_fee_amount": 1_000},
                                      options={"stripe_account": merchant.id})
    (on_account,) = _txns(client, charge.id, merchant.id)
    assert (on_account.amount, on_account.fee) == (20_000, 1_000), "only the application fee on the account"
    (paid,) = _txns(client, charge.id)
    assert (paid.type, paid.amount, paid.currency) == ("stripe_fee", -(580 + 30), "usd")
    dispute = httpx.post(f"{empty.base_url}/_emulator/disputes", data={"charge": charge.id},
                         headers={"Authorization": f"Bearer {empty.api_key}"}).json()
    (withdrawal,) = _txns(client, dispute["id"], merchant.id)
    assert (withdrawal.amount, withdrawal.fee) == (-20_000, 0), "the account bears the amount, not the fee"
    (dispute_fee,) = _txns(client, dispute["id"])
    assert (dispute_fee.type, dispute_fee.amount) == ("stripe_fee", -1_500)


def test_a_eur_platform() -> None:
    with start_emulator("--scale", "empty", "--platform-currency", "eur") as process:
        client = client_for(process)
        assert client.v1.accounts.retrieve_current().default_currency == "eur"
        charge = client.v1.charges.create(params={"amount": 10_800, "currency": "usd", "source": "tok_visa"})
        (txn,) = _txns(client, charge.id)
        assert (txn.currency, txn.amount, txn.exchange_rate) == ("eur", 10_000, 0.925926)
