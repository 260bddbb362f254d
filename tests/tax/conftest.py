"""A mirror written by hand, object by object in Stripe's shapes, so every expected box is known in advance.

Each helper writes what Stripe would hold for one payment: the charge or transfer, the `py_` payment a
transfer makes in the account, and their balance transactions (with `available_on`, which decides the
tax year and month). Amounts are minor units; times are UTC.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.mirror.store import Store

US = "US"


def ts(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    """Unix seconds of a UTC time."""
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp())


class Mirror:
    """Writes Stripe-shaped objects into a real Store (the tables the sync fills)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._ids = itertools.count(1)

    def _id(self, prefix: str) -> str:
        return f"{prefix}_t{next(self._ids):06d}"

    def put(self, table: str, scope: str, *objects: dict[str, Any]) -> None:
        with self.store.transaction() as conn:
            self.store.upsert(conn, table, scope, list(objects))

    # -- accounts

    def account(self, *, state: str | None = "CA", business_type: str = "company", tin: bool = True,
                line1: str | None = "1 Main St", city: str | None = "Springfield", postal: str | None = "94103",
                name: str | None = "Acme Widgets LLC", fees_payer: str = "application", country: str = US,
                last4_only: bool = False, account_id: str | None = None, structure: str | None = None,
                due: tuple[str, ...] = ()) -> str:
        account_id = account_id or self._id("acct")
        address = {"city": city, "country": country, "line1": line1, "line2": None, "postal_code": postal,
                   "state": state}
        obj: dict[str, Any] = {
            "id": account_id, "object": "account", "type": "express" if fees_payer != "account" else "standard",
            "country": country, "created": ts(2022, 1, 1), "business_type": business_type,
            "business_profile": {"name": "Shop " + account_id[-4:]}, "default_currency": "usd",
            "controller": {"fees": {"payer": fees_payer}},
            "requirements": {"currently_due": list(due),
                             "eventually_due": ["individual.id_number"] if last4_only else [], "past_due": []},
        }
        if business_type == "individual":
            obj["individual"] = {"first_name": "Ada" if name else None, "last_name": "Lovelace" if name else None,
                                 "address": address, "id_number_provided": tin, "ssn_last_4_provided": tin}
        else:
            obj["company"] = {"name": name, "address": address, "tax_id_provided": tin, "structure": structure}
        self.put("connected_accounts", "", obj)
        return account_id

    # -- balance transactions

    def bt(self, scope: str, source: str, amount: int, available_on: int, *, type: str = "charge",
           currency: str = "usd", fee: int = 0, exchange_rate: float | None = None,
           reporting_category: str | None = None) -> str:
        txn = self._id("txn")
        self.put("balance_transactions", scope, {
            "id": txn, "object": "balance_transaction", "amount": amount, "currency": currency, "fee": fee,
            "net": amount - fee, "type": type, "reporting_category": reporting_category or type,
            "exchange_rate": exchange_rate, "available_on": available_on, "created": available_on - 2 * 86_400,
            "status": "available", "source": source})
        return txn

    # -- payments

    def direct_charge(self, account: str, amount: int, available_on: int, *, currency: str = "usd",
                      settled: int | None = None, rate: float | None = None, fee: int = 0,
                      method: str = "card", refunded: int = 0) -> str:
        """A charge on the connected account; `settled` is the USD amount when `currency` is not USD."""
        charge = self._id("ch")
        txn = self.bt(account, charge, settled if settled is not None else amount, available_on, fee=fee,
                      exchange_rate=rate)
        self.put("charges", account, self._charge(charge, amount, currency, txn, method, refunded))
        if refunded:
            refund = self._id("re")
            rtxn = self.bt(account, refund, -refunded, available_on + 86_400, type="refund")
            self.put("refunds", account, {"id": refund, "object": "refund", "amount": refunded, "currency": currency,
                                          "charge": charge, "balance_transaction": rtxn, "created": available_on})
        return charge

    def destination_charge(self, account: str, amount: int, available_on: int, *, app_fee: int = 0,
                           stripe_fee: int = 0, method: str = "card", payment_available_on: int | None = None,
                           currency: str = "usd", settled: int | None = None, rate: float | None = None) -> str:
        """A platform charge whose transfer pays the account (its `py_` payment nets the application fee)."""
        charge, transfer, payment = self._id("ch"), self._id("tr"), self._id("py")
        ctxn = self.bt("", charge, settled if settled is not None else amount, available_on, fee=stripe_fee,
                       exchange_rate=rate)
        obj = self._charge(charge, amount, currency, ctxn, method)
        obj.update(transfer=transfer, transfer_data={"destination": account, "amount": None},
                   application_fee_amount=app_fee or None)
        self.put("charges", "", obj)
        self._transfer(transfer, account, amount, currency, payment, source=charge)
        ptxn = self.bt(account, payment, settled if settled is not None else amount,
                       payment_available_on or available_on, type="payment", fee=app_fee)
        self.put("charges", account, self._payment(payment, amount, currency, ptxn, transfer))
        return charge

    def separate_charge_and_transfer(self, account: str, charge_amount: int, transfer_amount: int,
                                     available_on: int, method: str = "card") -> str:
        charge, transfer, payment = self._id("ch"), self._id("tr"), self._id("py")
        ctxn = self.bt("", charge, charge_amount, available_on)
        obj = self._charge(charge, charge_amount, "usd", ctxn, method)
        obj["transfer_group"] = "group_" + charge
        self.put("charges", "", obj)
        self._transfer(transfer, account, transfer_amount, "usd", payment, source=charge)
        ptxn = self.bt(account, payment, transfer_amount, available_on, type="payment")
        self.put("charges", account, self._payment(payment, transfer_amount, "usd", ptxn, transfer))
        return transfer

    def credit_transfer(self, account: str, amount: int, available_on: int) -> str:
        """A transfer from the platform with no charge behind it (e.g. paying a service provider)."""
        transfer, payment = self._id("tr"), self._id("py")
        self._transfer(transfer, account, amount, "usd", payment, source=None)
        ptxn = self.bt(account, payment, amount, available_on, type="payment")
        self.put("charges", account, self._payment(payment, amount, "usd", ptxn, transfer))
        return transfer

    def account_debit(self, account: str, amount: int, available_on: int) -> str:
        """The account pays the platform: a transfer in the account's scope (Stripe's account debit)."""
        transfer = self._id("tr")
        txn = self.bt(account, transfer, -amount, available_on, type="transfer")
        self.put("transfers", account, {"id": transfer, "object": "transfer", "amount": amount, "currency": "usd",
                                        "destination": "acct_platform", "balance_transaction": txn,
                                        "created": available_on - 86_400})
        return transfer

    def payout(self, account: str, amount: int, available_on: int, *, failed_on: int | None = None) -> str:
        payout = self._id("po")
        txn = self.bt(account, payout, -amount, available_on, type="payout")
        failure = self.bt(account, payout, amount, failed_on, type="payout_failure",
                          reporting_category="payout_reversal") if failed_on else None
        self.put("payouts", account, {"id": payout, "object": "payout", "amount": amount, "currency": "usd",
                                      "status": "failed" if failed_on else "paid", "balance_transaction": txn,
                                      "failure_balance_transaction": failure, "created": available_on})
        return payout

    # -- shapes

    def _charge(self, charge: str, amount: int, currency: str, txn: str, method: str, refunded: int = 0
                ) -> dict[str, Any]:
        return {"id": charge, "object": "charge", "amount": amount, "amount_refunded": refunded,
                "currency": currency, "status": "succeeded", "paid": True, "balance_transaction": txn,
                "created": ts(2020, 1, 1), "payment_method_details": {"type": method}}

    def _payment(self, payment: str, amount: int, currency: str, txn: str, transfer: str) -> dict[str, Any]:
        return {"id": payment, "object": "charge", "amount": amount, "currency": currency, "status": "succeeded",
                "balance_transaction": txn, "source_transfer": transfer, "created": ts(2020, 1, 1),
                "payment_method_details": {"type": "stripe_account"}}

    def _transfer(self, transfer: str, account: str, amount: int, currency: str, payment: str,
                  source: str | None) -> None:
        self.put("transfers", "", {"id": transfer, "object": "transfer", "amount": amount, "currency": currency,
                                   "destination": account, "destination_payment": payment,
                                   "source_transaction": source, "created": ts(2020, 1, 1)})


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[Mirror]:
    with Store(tmp_path / "tax.duckdb") as store:
        yield Mirror(store)


def many_direct_charges(mirror: Mirror, account: str, amounts: list[int], available_on: int, *,
                        currency: str = "usd", settled_rate: float | None = None) -> None:
    """Many charges written in two statements (a threshold test needs 200 of them); a non-USD charge settles in
    USD at `settled_rate` (the balance transaction's rate), created two days before it is available."""
    charges, txns = [], []
    for amount in amounts:
        charge, txn = mirror._id("ch"), mirror._id("txn")
        settled = round(amount * settled_rate) if settled_rate else amount
        txns.append({"id": txn, "object": "balance_transaction", "amount": settled, "currency": "usd", "fee": 0,
                     "net": settled, "type": "charge", "reporting_category": "charge", "available_on": available_on,
                     "created": available_on - (2 * 86_400 if settled_rate else 0), "status": "available",
                     "source": charge, "exchange_rate": settled_rate})
        charges.append(mirror._charge(charge, amount, currency, txn, "card"))
    mirror.put("balance_transactions", account, *txns)
    mirror.put("charges", account, *charges)
