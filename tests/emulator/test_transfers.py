"""The emulator's separate charges and transfers (POST /v1/transfers), transfer_data[amount] and the
negative-balance cover control, through the real SDK: what the revenue scenarios rely on."""
from __future__ import annotations

import pytest
import stripe

from core.emulator.launcher import EmulatorProcess
from tests.mirror.test_sync import control


def _express(client: stripe.StripeClient) -> str:
    return next(a.id for a in client.v1.accounts.list(params={"limit": 100}).auto_paging_iter()
                if a.type == "express" and a.country == "US")


def test_transfer_from_a_charge_pays_the_account(fresh_client: stripe.StripeClient) -> None:
    client, account = fresh_client, _express(fresh_client)
    charge = client.v1.charges.create(params={"amount": 10_000, "currency": "usd", "source": "tok_visa",
                                              "transfer_group": "order_7"})
    transfer = client.v1.transfers.create(params={"amount": 7_000, "currency": "usd", "destination": account,
                                                  "source_transaction": charge.id, "metadata": {"order": "7"}})
    assert (transfer.amount, transfer.destination, transfer.source_transaction) == (7_000, account, charge.id)
    assert transfer.transfer_group == "order_7" and transfer.metadata["order"] == "7"
    payment = client.v1.charges.retrieve(transfer.destination_payment, options={"stripe_account": account})
    assert payment.amount == 7_000 and payment.source_transfer == transfer.id
    txn = client.v1.balance_transactions.retrieve(transfer.balance_transaction)
    assert (txn.type, txn.amount) == ("transfer", -7_000)
    with pytest.raises(stripe.InvalidRequestError) as exceeded:
        client.v1.transfers.create(params={"amount": 3_001, "currency": "usd", "destination": account,
                                           "source_transaction": charge.id})
    assert exceeded.value.param == "amount"
    with pytest.raises(stripe.InvalidRequestError) as currency:
        client.v1.transfers.create(params={"amount": 100, "currency": "eur", "destination": account,
                                           "source_transaction": charge.id})
    assert currency.value.param == "source_transaction"


def test_transfer_without_a_source_needs_the_balance(fresh_client: stripe.StripeClient) -> None:
    account = _express(fresh_client)
    with pytest.raises(stripe.InvalidRequestError) as short:
        fresh_client.v1.transfers.create(params={"amount": 10**9, "currency": "usd", "destination": account})
    assert short.value.code == "balance_insufficient"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        fresh_client.v1.transfers.create(params={"amount": 100, "currency": "usd", "destination": "acct_nope"})
    assert unknown.value.param == "destination"


def test_destination_charge_with_transfer_amount(fresh_client: stripe.StripeClient) -> None:
    client, account = fresh_client, _express(fresh_client)
    charge = client.v1.charges.create(params={"amount": 10_000, "currency": "usd", "source": "tok_visa",
                                              "transfer_data": {"destination": account, "amount": 8_000}})
    assert charge.transfer_data.amount == 8_000 and charge.application_fee is None
    transfer = client.v1.transfers.retrieve(charge.transfer)
    assert transfer.amount == 8_000 and transfer.source_transaction == charge.id
    refund = client.v1.refunds.create(params={"charge": charge.id, "amount": 5_000, "reverse_transfer": True})
    assert client.v1.transfers.retrieve(charge.transfer).amount_reversed == 4_000 and refund.transfer_reversal
    with pytest.raises(stripe.InvalidRequestError) as both:
        client.v1.charges.create(params={"amount": 10_000, "currency": "usd", "source": "tok_visa",
                                         "application_fee_amount": 100,
                                         "transfer_data": {"destination": account, "amount": 8_000}})
    assert both.value.param == "transfer_data[amount]"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.charges.create(params={"amount": 10_000, "currency": "usd", "source": "tok_visa",
                                         "transfer_data": {"destination": account, "amount": 10_001}})


def test_negative_balance_cover(fresh_emulator: EmulatorProcess, fresh_client: stripe.StripeClient) -> None:
    account = _express(fresh_client)
    txn = control(fresh_emulator, "POST", f"/_emulator/accounts/{account}/cover_negative_balance", amount=2_500,
                  currency="usd")
    assert (txn["type"], txn["amount"], txn["currency"]) == ("connect_collection_transfer", -2_500, "usd")
    listed = fresh_client.v1.balance_transactions.list(params={"type": "connect_collection_transfer"})
    assert [t.id for t in listed.data] == [txn["id"]], "on the platform's balance"
