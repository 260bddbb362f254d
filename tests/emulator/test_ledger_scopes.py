"""Every money movement writes its balance transactions in every scope Stripe would (issue 18, section 3),
and each scope's GET /v1/balance is the sum of its own ledger.

Known answers, from Stripe's docs:
- Refunding an application fee: "Funds will be refunded to the Stripe account from which the fee was
  originally collected" (https://docs.stripe.com/api/fee_refunds). The platform's ledger has a debit of
  type application_fee_refund (reporting category platform_earning_refund,
  https://docs.stripe.com/reports/reporting-categories), the connected account's a credit of the same
  amount and type, whose source is the `fr_`; no object in the account's scope names that credit.
- A connect collection transfer moves a connected account's negative balance onto the platform
  (https://docs.stripe.com/reports/balance-transaction-types): a debit in the platform, a credit in the account.
"""
from __future__ import annotations

import httpx
import stripe

from core.emulator.launcher import EmulatorProcess
from tests.conftest import client_for


def _control(emu: EmulatorProcess, path: str, **data: object) -> dict:
    response = httpx.post(emu.base_url + path, data=data, headers={"Authorization": f"Bearer {emu.api_key}"})
    response.raise_for_status()
    return response.json()


def _ledger(client: stripe.StripeClient, account: str | None, **params: object) -> list[stripe.BalanceTransaction]:
    options = {"stripe_account": account} if account else {}
    return list(client.v1.balance_transactions.list({"limit": 100, **params}, options).auto_paging_iter())


def _total(client: stripe.StripeClient, account: str) -> int:
    """The account's usd balance, available plus pending."""
    balance = client.v1.balance.retrieve(options={"stripe_account": account})
    return sum(b.amount for b in balance.available + balance.pending if b.currency == "usd")


def _standard_usd(client: stripe.StripeClient) -> str:
    return next(a.id for a in client.v1.accounts.list({"limit": 100}).auto_paging_iter()
                if a.type == "standard" and a.charges_enabled and a.default_currency == "usd")


def test_a_direct_charge_refunded_with_its_fee_credits_the_account(fresh_emulator: EmulatorProcess) -> None:
    """$100.00 direct charge, $5.00 application fee, refunded in full with refund_application_fee=true.
    Account: charge +10,000 less Stripe's 2.9% + 30 (320) and the fee (500) = net 9,180; refund -10,000;
    fee refund +500: -320 in all (Stripe keeps its processing fee). Platform: fee +500, fee refund -500."""
    client = client_for(fresh_emulator)
    account = _standard_usd(client)
    charge = client.v1.charges.create({"amount": 10_000, "currency": "usd", "source": "tok_visa",
                                       "application_fee_amount": 500}, {"stripe_account": account})
    refund = client.v1.refunds.create({"charge": charge.id, "refund_application_fee": True},
                                      {"stripe_account": account})
    fee = client.v1.application_fees.retrieve(str(charge.application_fee))
    assert fee.amount_refunded == 500
    fee_refund = client.v1.application_fees.refunds.list(fee.id).data[0]

    mine = {t.type: t for t in _ledger(client, account, created={"gte": charge.created})}
    assert set(mine) == {"charge", "refund", "application_fee_refund"}
    assert (mine["charge"].amount, mine["charge"].fee, mine["charge"].net) == (10_000, 820, 9_180)
    assert (mine["refund"].amount, mine["refund"].source) == (-10_000, refund.id)
    credit = mine["application_fee_refund"]
    assert (credit.amount, credit.net, credit.currency, credit.source) == (500, 500, "usd", fee_refund.id)
    assert sum(t.net for t in mine.values()) == -320

    platform = [t for t in _ledger(client, None, created={"gte": charge.created})
                if t.source in (fee.id, fee_refund.id)]
    by_type = {t.type: t for t in platform}
    assert (by_type["application_fee"].amount, by_type["application_fee_refund"].amount) == (500, -500)
    assert by_type["application_fee_refund"].reporting_category == "platform_earning_refund"
    assert fee_refund.balance_transaction == by_type["application_fee_refund"].id  # the platform's, not the account's

    # Nothing in the account's scope names the credit: not the charge, not the refund.
    named = {str(charge.balance_transaction), str(refund.balance_transaction)}
    assert credit.id not in named


def test_a_destination_charges_fee_refund_credits_the_destination(fresh_emulator: EmulatorProcess) -> None:
    """$200.00 destination charge with a $20.00 fee; $50.00 refunded with the fee's share (500) but no
    transfer reversal: the destination account gets +500 back, the platform gives 500 of its fee back."""
    client = client_for(fresh_emulator)
    account = next(a.id for a in client.v1.accounts.list({"limit": 100}).auto_paging_iter()
                   if a.type != "standard" and a.charges_enabled and a.default_currency == "usd")
    charge = client.v1.charges.create({"amount": 20_000, "currency": "usd", "source": "tok_visa",
                                       "transfer_data": {"destination": account}, "application_fee_amount": 2_000})
    client.v1.refunds.create({"charge": charge.id, "amount": 5_000, "refund_application_fee": True})
    credits = [t for t in _ledger(client, account, created={"gte": charge.created}) if t.type == "application_fee_refund"]
    assert [(t.amount, t.net) for t in credits] == [(500, 500)]
    debits = [t for t in _ledger(client, None, created={"gte": charge.created}) if t.type == "application_fee_refund"]
    assert [t.amount for t in debits] == [-500] and debits[0].source == credits[0].source


def test_a_collection_transfer_moves_money_in_both_scopes(fresh_emulator: EmulatorProcess) -> None:
    client = client_for(fresh_emulator)
    account = _standard_usd(client)
    before = _total(client, account)
    _control(fresh_emulator, f"/_emulator/accounts/{account}/cover_negative_balance", amount=2_500, currency="usd")
    mine = _ledger(client, account, type="connect_collection_transfer")
    platform = _ledger(client, None, type="connect_collection_transfer")
    assert [t.amount for t in mine] == [2_500] and [t.amount for t in platform] == [-2_500]
    assert mine[0].source == platform[0].source
    assert _total(client, account) - before == 2_500


def test_every_scopes_balance_is_the_sum_of_its_ledger(emulator: EmulatorProcess) -> None:
    """GET /v1/balance, in the platform and in every connected account, equals its balance transactions'
    net summed by currency, available and pending split by available_on at the response's own instant."""
    import email.utils

    dump = httpx.get(emulator.base_url + "/_emulator/dump", params={"resource": "balance_transactions"},
                     headers={"Authorization": f"Bearer {emulator.api_key}"}, timeout=60).json()["data"]
    ledgers: dict[str | None, list[dict]] = {}
    for item in dump:
        ledgers.setdefault(item["account"], []).append(item["object"])
    assert len(ledgers) > 30
    for scope, txns in sorted(ledgers.items(), key=lambda kv: kv[0] or ""):
        headers = {"Authorization": f"Bearer {emulator.api_key}", **({"Stripe-Account": scope} if scope else {})}
        response = httpx.get(emulator.base_url + "/v1/balance", headers=headers)
        at = email.utils.parsedate_to_datetime(response.headers["date"]).timestamp()
        if any(abs(t["available_on"] - at) <= 1 for t in txns):
            continue  # becomes available this very second: the split is not well defined here
        balance = response.json()
        want: dict[str, list[int]] = {}
        for t in txns:
            figures = want.setdefault(t["currency"], [0, 0])
            figures[0 if t["available_on"] <= at else 1] += t["net"]
        got = {b["currency"]: [b["amount"], 0] for b in balance["available"]}
        for b in balance["pending"]:
            got.setdefault(b["currency"], [0, 0])[1] = b["amount"]
        got = {c: v for c, v in got.items() if v != [0, 0] or c in want}
        assert got == want, scope
