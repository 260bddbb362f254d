"""Money movements as Stripe performs them: each operation writes every object it touches
(charge, fee, transfer, payment, balance transactions) and the events Stripe would send.

The seed and the HTTP writes share these functions, so demo data and live actions agree.
"""
from __future__ import annotations

import copy
import hashlib
from typing import Any

from .state import PLATFORM, Record, State

DAY = 86_400
EVENT_RETENTION = 30 * DAY
PLATFORM_CURRENCY = "usd"
ZERO_DECIMAL = frozenset({"jpy", "krw", "vnd", "clp", "xof"})
USD_PER_UNIT = {"usd": 1.0, "eur": 1.08, "gbp": 1.27, "cad": 0.73, "jpy": 0.0067}


def minor_per_unit(currency: str) -> int:
    return 1 if currency in ZERO_DECIMAL else 100


def _rate(currency: str, to: str) -> tuple[float, int, int]:
    rate = round(USD_PER_UNIT[currency] / USD_PER_UNIT[to], 6)
    return rate, minor_per_unit(currency), minor_per_unit(to)


_RATES = {(a, b): _rate(a, b) for a in USD_PER_UNIT for b in USD_PER_UNIT if a != b}


def convert(amount: int, currency: str, to: str) -> tuple[int, float | None]:
    """Amount in `to`'s minor units and the exchange rate used (None when no conversion)."""
    if currency == to:
        return amount, None
    found = _RATES.get((currency, to))
    rate, minor_from, minor_to = found if found is not None else _rate(currency, to)
    major = amount / minor_from
    return round(major * rate * minor_to), rate


def stripe_fee(amount: int, currency: str) -> int:
    """2.9% + 30 cents (or the local equivalent), Stripe's standard card pricing."""
    fixed = 30 if currency not in ZERO_DECIMAL else 50
    return round(amount * 0.029) + fixed


_DAY_STARTS: dict[int, int] = {}


def _available_on(created: int, delay_days: int = 2) -> int:
    """Midnight `delay_days` after `created` (one shared int per day: millions of records hold these)."""
    day = created // DAY + delay_days
    found = _DAY_STARTS.get(day)
    if found is None:
        found = _DAY_STARTS[day] = day * DAY
    return found


# --- events -----------------------------------------------------------------------------------

def snapshot(rec: Record) -> Record:
    """A frozen copy of a record for an event's data.object."""
    return copy.deepcopy(rec) if rec["_resource"] == "accounts" else {
        k: (v.copy() if isinstance(v, (list, dict)) else v) for k, v in rec.items()
    }


def emit(state: State, created: int, event_type: str, rec: Record,
         previous: dict[str, Any] | None = None, request: dict[str, Any] | None = None) -> Record | None:
    """Append an event in the object's scope, unless it is older than Stripe's retention window."""
    cutoff = state.event_cutoff if state.event_cutoff is not None else state.now() - EVENT_RETENTION
    if created < cutoff:
        return None
    scope = rec["_scope"] if rec["_resource"] != "accounts" else rec["id"]
    event = {"id": state.new_id("evt"), "created": created, "type": event_type, "snapshot": snapshot(rec),
             "previous_attributes": previous, "_scope": scope, "_resource": "events"}
    if request:
        event["request_id"] = request.get("id")
        event["idempotency_key"] = request.get("idempotency_key")
    return state.add("events", event, scope)


# --- balance transactions ---------------------------------------------------------------------

def fee_of(txn: Record) -> int:
    return sum(line["amount"] for line in txn.get("fee_details", ()))


def net_of(txn: Record) -> int:
    """What a balance transaction adds to the balance: its amount less its fees."""
    return txn["amount"] - fee_of(txn)


def balance_txn(state: State, scope: str | None, created: int, amount: int, currency: str, kind: str,
                category: str, source: str | None, fees: list[dict[str, Any]] | None = None,
                description: str | None = None, settle_in: str | None = None,
                available_on: int | None = None) -> Record:
    """A balance transaction, converted into the scope's settlement currency when they differ."""
    settle = settle_in or currency
    rec = {"id": state.new_id("txn"), "created": created, "amount": amount, "currency": settle,
           "type": kind, "reporting_category": category, "source": source,
           "available_on": available_on if available_on is not None else _available_on(created),
           "_scope": scope, "_resource": "balance_transactions"}
    # Keys that would hold None or nothing are left out (readers use .get); this keeps the dicts small.
    if settle != currency:
        rec["amount"], rec["exchange_rate"] = convert(amount, currency, settle)
    if fees:
        rec["fee_details"] = _fee_details(fees, currency, settle)
    if description is not None:
        rec["description"] = description
    return state.add("balance_transactions", rec, scope)


# Fee lines repeat (a few thousand distinct amounts across a million charges): identical lines are
# one shared dict and identical fee_details one shared tuple. Nothing mutates them; readers copy.
# Bounded: emptied when full (sharing saves memory, correctness never depends on it).
_FEE_KEYS = ("amount", "application", "description", "type")
_FEE_SHARED: dict[tuple[Any, ...], Any] = {}
_FEE_CACHE_MAX = 100_000


def _fee_line(amount: int, application: str | None, description: str, kind: str) -> dict[str, Any]:
    key = (amount, application, description, kind)
    line = _FEE_SHARED.get(key)
    if line is None:
        if len(_FEE_SHARED) >= _FEE_CACHE_MAX:
            _FEE_SHARED.clear()
        line = _FEE_SHARED[key] = dict(zip(_FEE_KEYS, key))
    return line


def _fee_details(fees: Any, currency: str, settle: str) -> tuple[dict[str, Any], ...]:
    """The fee lines converted into the settlement currency, as a shared tuple."""
    if any(tuple(f) != _FEE_KEYS for f in fees):  # an unusual shape: a private copy, as before
        return tuple(dict(f, amount=convert(f["amount"], currency, settle)[0]) for f in fees)
    lines = tuple(_fee_line(convert(f["amount"], currency, settle)[0], f["application"], f["description"], f["type"])
                  for f in fees)
    key = ("details",) + tuple(id(line) for line in lines)  # ids of lines the cached tuple keeps alive
    found = _FEE_SHARED.get(key)
    if found is None or found != lines:
        if len(_FEE_SHARED) >= _FEE_CACHE_MAX:
            _FEE_SHARED.clear()
        found = _FEE_SHARED[key] = lines
    return found


def _fee(amount: int, description: str = "Stripe processing fees") -> dict[str, Any]:
    return _fee_line(amount, None, description, "stripe_fee")


# --- charges ----------------------------------------------------------------------------------

def create_charge(state: State, created: int, account: Record, flow: str, amount: int, currency: str,
                  fee_amount: int | None = None, status: str = "succeeded", details: dict[str, Any] | None = None,
                  request: dict[str, Any] | None = None, transfer_amount: int | None = None,
                  capture: bool = True) -> Record:
    """A card charge in one of Connect's three flows: destination, direct, or separate (charge then transfer).

    A destination charge with `transfer_amount` (Stripe's transfer_data[amount]) transfers only that much and
    makes no fee object: the platform keeps the rest (an implicit fee)."""
    scope = account["id"] if flow == "direct" else PLATFORM
    # `refund_ids` appears with the first refund and `on_behalf_of` only when set (readers use .get).
    rec: Record = {"id": state.new_id("ch"), "created": created, "amount": amount, "currency": currency,
                   "status": status, "amount_refunded": 0, **(details or {})}
    # A PaymentIntent's id shares its base with its charge's, as Stripe's do (pi_3Mtw... / ch_3Mtw...).
    rec["payment_intent"] = "pi_" + rec["id"][3:]
    rec["payment_method"] = rec.get("payment_method") or "pm_" + rec["id"][:2:-1]
    if flow == "destination":
        rec["destination"] = account["id"]
        if transfer_amount is not None:
            rec["transfer_amount"] = transfer_amount
        if account.get("on_behalf_of"):
            rec["on_behalf_of"] = account["id"]
    if flow in ("destination", "direct") and fee_amount is not None:
        rec["application_fee_amount"] = fee_amount
    state.add("charges", rec, scope)
    if status != "succeeded":
        rec.update(failure_code=rec.get("failure_code") or "card_declined",
                   failure_message=rec.get("failure_message") or "Your card was declined.")
        emit(state, created, "charge.failed", rec, request=request)
        return rec
    if not capture:  # authorized only: no money moves until POST /v1/charges/{id}/capture (capture.py)
        rec.update(captured=False, amount_captured=0, _flow=flow, _fee_amount=fee_amount,
                   _transfer_amount=transfer_amount)
        emit(state, created, "charge.succeeded", rec, request=request)
        return rec
    settle_charge(state, created, rec, account, flow, amount, currency, fee_amount, transfer_amount, request)
    emit(state, created, "charge.succeeded", rec, request=request)  # after linking, as Stripe's snapshot shows
    return rec


def settle_charge(state: State, created: int, rec: Record, account: Record, flow: str, amount: int, currency: str,
                  fee_amount: int | None, transfer_amount: int | None, request: dict[str, Any] | None) -> None:
    """A captured charge's money: its balance transaction and, for a destination charge, its transfer and fee.
    On an account whose controller.fees.payer is `application`, a direct charge's Stripe fee is the platform's
    (https://docs.stripe.com/connect/direct-charges-fee-payer-behavior): a `stripe_fee` balance transaction
    on the platform, sourced by the charge, instead of a fee line on the account's."""
    scope = rec["_scope"]
    settle = state.platform_currency if scope is PLATFORM else account["default_currency"]
    platform_pays = flow == "direct" and account.get("fees_payer") == "application"
    fees = [] if platform_pays else [_fee(stripe_fee(amount, currency))]
    if flow == "direct" and fee_amount:
        fees.append(_fee_line(fee_amount, state.application_id, "Application fee", "application_fee"))
    txn = balance_txn(state, scope, created, amount, currency, "charge", "charge", rec["id"], fees,
                      rec.get("description"), settle_in=settle)
    rec["balance_transaction"] = txn["id"]
    if platform_pays:
        balance_txn(state, PLATFORM, created, -stripe_fee(amount, currency), currency, "stripe_fee", "fee", rec["id"],
                    description=f"Stripe processing fees for {rec['id']}", settle_in=state.platform_currency)
    if flow == "destination":
        transfer = create_transfer(state, created, account, amount if transfer_amount is None else transfer_amount,
                                   currency, source_charge=rec, request=request)
        rec["transfer"] = transfer["id"]
        if fee_amount:
            fee = create_application_fee(state, created, account, fee_amount, currency,
                                         charge_id=transfer["destination_payment"], origin=rec["id"], request=request)
            rec["application_fee"] = fee["id"]
            payment = state.records[transfer["destination_payment"]]
            payment["application_fee"] = fee["id"]
            payment["application_fee_amount"] = fee_amount
            ptxn = state.records[payment["balance_transaction"]]
            ptxn["fee_details"] = _fee_details(
                [_fee_line(fee_amount, state.application_id, "Application fee", "application_fee")],
                currency, ptxn["currency"])
    elif flow == "direct" and fee_amount:
        fee = create_application_fee(state, created, account, fee_amount, currency, charge_id=rec["id"],
                                     request=request)
        rec["application_fee"] = fee["id"]


def create_application_fee(state: State, created: int, account: Record, amount: int, currency: str,
                           charge_id: str, origin: str | None = None,
                           request: dict[str, Any] | None = None) -> Record:
    rec = {"id": state.new_id("fee"), "created": created, "account": account["id"], "amount": amount,
           "currency": currency, "charge": charge_id, "originating_transaction": origin, "refund_ids": [],
           "amount_refunded": 0, "_scope": PLATFORM, "_resource": "application_fees"}
    state.add("application_fees", rec, PLATFORM)
    txn = balance_txn(state, PLATFORM, created, amount, currency, "application_fee", "platform_earning",
                      rec["id"], settle_in=state.platform_currency)
    rec["balance_transaction"] = txn["id"]
    emit(state, created, "application_fee.created", rec, request=request)
    return rec


def create_transfer(state: State, created: int, account: Record, amount: int, currency: str,
                    source_charge: Record | None = None, transfer_group: str | None = None,
                    request: dict[str, Any] | None = None) -> Record:
    """A transfer to a connected account and the `py_` payment it creates there."""
    if source_charge is not None and not source_charge.get("transfer_group"):
        # A charge that funds a transfer joins a group (Stripe names one for it), so both share it.
        source_charge["transfer_group"] = f"group_{source_charge['id'][3:]}"
    rec = {"id": state.new_id("tr"), "created": created, "amount": amount, "currency": currency,
           "destination": account["id"], "amount_reversed": 0, "reversal_ids": [],
           "source_transaction": source_charge["id"] if source_charge else None,
           "transfer_group": transfer_group or (source_charge or {}).get("transfer_group"),
           "_scope": PLATFORM, "_resource": "transfers"}
    state.add("transfers", rec, PLATFORM)
    txn = balance_txn(state, PLATFORM, created, -amount, currency, "transfer", "transfer", rec["id"],
                      settle_in=state.platform_currency)
    rec["balance_transaction"] = txn["id"]
    payment = {"id": state.new_id("py"), "created": created, "amount": amount, "currency": currency,
               "status": "succeeded", "amount_refunded": 0, "source_transfer": rec["id"],
               "application": True, "_scope": account["id"], "_resource": "charges"}
    state.add("charges", payment, account["id"])
    ptxn = balance_txn(state, account["id"], created, amount, currency, "payment", "charge", payment["id"],
                       settle_in=account["default_currency"])
    payment["balance_transaction"] = ptxn["id"]
    rec["destination_payment"] = payment["id"]
    emit(state, created, "transfer.created", rec, request=request)
    return rec


# --- refunds and reversals --------------------------------------------------------------------

def refundable(charge: Record) -> int:
    return charge["amount"] - charge.get("amount_refunded", 0) if charge["status"] == "succeeded" else 0


def create_refund(state: State, created: int, charge: Record, amount: int, reason: str | None = None,
                  refund_application_fee: bool = False, reverse_transfer: bool = False,
                  metadata: dict[str, str] | None = None, request: dict[str, Any] | None = None) -> Record:
    """Refund part or all of a charge; optionally give back the fee and pull back the transfer."""
    scope = charge["_scope"]
    previous = {"amount_refunded": charge["amount_refunded"], "refunded": refundable(charge) == 0}
    rec = {"id": state.new_id("re"), "created": created, "amount": amount, "currency": charge["currency"],
           "charge": charge["id"], "payment_intent": charge.get("payment_intent"), "reason": reason,
           "metadata": metadata or {}, "status": "succeeded"}
    state.add("refunds", rec, scope)
    charge_txn = state.records.get(charge.get("balance_transaction") or "")
    settle = charge_txn["currency"] if charge_txn else charge["currency"]
    txn = balance_txn(state, scope, created, -amount, charge["currency"], "refund", "refund", rec["id"],
                      settle_in=settle, available_on=created)
    rec["balance_transaction"] = txn["id"]
    charge["amount_refunded"] += amount
    charge.setdefault("refund_ids", []).append(rec["id"])
    fee = state.records.get(charge.get("application_fee") or "")
    captured = charge.get("amount_captured", charge["amount"]) or charge["amount"]  # shares of what moved
    if refund_application_fee and fee is not None:
        share = min(fee["amount"] - fee["amount_refunded"], round(fee["amount"] * amount / captured))
        if share > 0:
            refund_fee(state, created, fee, share, request)
    transfer = state.records.get(charge.get("transfer") or "")
    if reverse_transfer and transfer is not None:
        share = min(transfer["amount"] - transfer["amount_reversed"],
                    round(transfer["amount"] * amount / captured))
        if share > 0:
            reversal = reverse(state, created, transfer, share, source_refund=rec["id"], request=request)
            rec["transfer_reversal"] = reversal["id"]
    emit(state, created, "charge.refunded", charge, previous, request)
    emit(state, created, "refund.created", rec, request=request)
    return rec


def refund_fee(state: State, created: int, fee: Record, amount: int,
               request: dict[str, Any] | None = None) -> Record:
    previous = {"amount_refunded": fee["amount_refunded"]}
    rec = {"id": state.new_id("fr"), "created": created, "amount": amount, "currency": fee["currency"],
           "fee": fee["id"]}
    state.add("fee_refunds", rec, PLATFORM)
    txn = balance_txn(state, PLATFORM, created, -amount, fee["currency"], "application_fee_refund",
                      "platform_earning_refund", rec["id"], settle_in=state.platform_currency, available_on=created)
    rec["balance_transaction"] = txn["id"]
    _credit_fee_refund(state, created, fee, rec)
    fee["amount_refunded"] += amount
    fee["refund_ids"].append(rec["id"])
    emit(state, created, "application_fee.refunded", fee, previous, request)
    return rec


def _credit_fee_refund(state: State, created: int, fee: Record, refund: Record) -> Record | None:
    """The fee refund's other side: "Funds will be refunded to the Stripe account from which the fee was
    originally collected" (https://docs.stripe.com/api/fee_refunds). The connected account's balance gets a
    credit of type application_fee_refund whose source is the `fr_` (a platform-fee refund, reporting
    category `fee` on the payer's side: https://docs.stripe.com/reports/reporting-categories), in the currency
    the fee was taken in there (the direct charge's or the `py_` payment's). No object in that account's
    scope names it: the fee refund names the platform's balance transaction."""
    charge = state.records.get(fee.get("charge") or "")
    if charge is None or charge["_scope"] != fee["account"]:
        return None
    charge_txn = state.records.get(charge.get("balance_transaction") or "")
    settle = charge_txn["currency"] if charge_txn else charge["currency"]
    return balance_txn(state, fee["account"], created, refund["amount"], fee["currency"], "application_fee_refund",
                       "fee", refund["id"], description="Application fee refund", settle_in=settle,
                       available_on=created)


def reverse(state: State, created: int, transfer: Record, amount: int, source_refund: str | None = None,
            metadata: dict[str, str] | None = None, request: dict[str, Any] | None = None) -> Record:
    """Pull money back from a connected account; refunds the `py_` payment there by the same amount."""
    previous = {"amount_reversed": transfer["amount_reversed"], "reversed": False}
    account_id = transfer["destination"]
    rec = {"id": state.new_id("trr"), "created": created, "amount": amount, "currency": transfer["currency"],
           "transfer": transfer["id"], "source_refund": source_refund, "metadata": metadata or {}}
    state.add("transfer_reversals", rec, PLATFORM)
    txn = balance_txn(state, PLATFORM, created, amount, transfer["currency"], "transfer_refund", "transfer_reversal",
                      rec["id"], settle_in=state.platform_currency, available_on=created)
    rec["balance_transaction"] = txn["id"]
    payment = state.records.get(transfer.get("destination_payment") or "")
    if payment is not None:
        pay_refund = {"id": state.new_id("pyr"), "created": created, "amount": amount,
                      "currency": payment["currency"], "charge": payment["id"], "status": "succeeded",
                      "source_transfer_reversal": rec["id"]}
        state.add("refunds", pay_refund, account_id)
        ptxn = balance_txn(state, account_id, created, -amount, payment["currency"], "payment_refund", "refund",
                           pay_refund["id"], settle_in=state.records[payment["balance_transaction"]]["currency"],
                           available_on=created)
        pay_refund["balance_transaction"] = ptxn["id"]
        payment["amount_refunded"] += amount
        payment.setdefault("refund_ids", []).append(pay_refund["id"])
        rec["destination_payment_refund"] = pay_refund["id"]
    transfer["amount_reversed"] += amount
    transfer["reversal_ids"].append(rec["id"])
    emit(state, created, "transfer.reversed", transfer, previous, request)
    return rec


# --- disputes ---------------------------------------------------------------------------------

DISPUTE_FEE = {"usd": 1500, "eur": 2000, "gbp": 2000, "cad": 1500, "jpy": 2000}


def create_dispute(state: State, created: int, charge: Record, reason: str = "fraudulent",
                   status: str = "needs_response", request: dict[str, Any] | None = None) -> Record:
    """A chargeback: the amount and a dispute fee leave the balance at once, as on Stripe."""
    scope = charge["_scope"]
    rec = {"id": state.new_id("dp"), "created": created, "amount": charge["amount"] - charge["amount_refunded"],
           "currency": charge["currency"], "charge": charge["id"], "payment_intent": charge.get("payment_intent"),
           "reason": reason, "status": "needs_response", "due_by": created + 21 * DAY, "balance_transactions": []}
    state.add("disputes", rec, scope)
    settle = state.records[charge["balance_transaction"]]["currency"]
    dispute_fee = DISPUTE_FEE.get(charge["currency"], 1500)
    # On an account whose controller.fees.payer is application, the platform pays the dispute fee too.
    platform_pays = scope is not PLATFORM and state.records[scope].get("fees_payer") == "application"
    fee = [] if platform_pays else [_fee(dispute_fee, "Dispute fee")]
    txn = balance_txn(state, scope, created, -rec["amount"], charge["currency"], "adjustment", "dispute",
                      rec["id"], fee, "Chargeback withdrawal", settle_in=settle, available_on=created)
    rec["balance_transactions"].append(txn["id"])
    if platform_pays:
        balance_txn(state, PLATFORM, created, -dispute_fee, charge["currency"], "stripe_fee", "fee", rec["id"],
                    description=f"Dispute fee for {rec['id']}", settle_in=state.platform_currency, available_on=created)
    charge["dispute"] = rec["id"]
    emit(state, created, "charge.dispute.created", rec, request=request)
    if status != "needs_response":
        close_dispute(state, created + 10 * DAY, rec, status)
    return rec


def close_dispute(state: State, created: int, dispute: Record, status: str) -> Record:
    """Move a dispute to under_review, won or lost; a win returns the disputed amount."""
    previous = {"status": dispute["status"]}
    dispute["status"] = status
    if status == "won":
        charge = state.records[dispute["charge"]]
        settle = state.records[charge["balance_transaction"]]["currency"]
        txn = balance_txn(state, dispute["_scope"], created, dispute["amount"], dispute["currency"], "adjustment",
                          "dispute_reversal", dispute["id"], description="Chargeback reversal",
                          settle_in=settle, available_on=created)
        dispute["balance_transactions"].append(txn["id"])
    kind = "charge.dispute.closed" if status in ("won", "lost") else "charge.dispute.updated"
    emit(state, created, kind, dispute, previous)
    return dispute


# --- payouts ----------------------------------------------------------------------------------

def create_payout(state: State, created: int, scope: str | None, amount: int, currency: str, destination: str | None,
                  status: str = "paid", failure_code: str | None = None,
                  request: dict[str, Any] | None = None) -> Record:
    rec = {"id": state.new_id("po"), "created": created, "amount": amount, "currency": currency,
           "arrival_date": _available_on(created, 2), "destination": destination, "status": "pending",
           "automatic": request is None, "_scope": scope, "_resource": "payouts"}
    state.add("payouts", rec, scope)
    txn = balance_txn(state, scope, created, -amount, currency, "payout", "payout", rec["id"],
                      description="STRIPE PAYOUT", available_on=created)
    rec["balance_transaction"] = txn["id"]
    emit(state, created, "payout.created", rec, request=request)
    settled = min(rec["arrival_date"], max(created, state.now()))  # events are never dated in the future
    if status == "paid":
        rec["status"] = "paid"
        emit(state, settled, "payout.paid", rec, {"status": "pending"})
    elif status == "failed":
        fail_payout(state, settled, rec, failure_code or "account_closed")
    else:
        rec["status"] = status
    return rec


FAILURE_MESSAGES = {
    "account_closed": "The bank account has been closed.",
    "no_account": "The bank account details on file are probably incorrect. No bank account could be located.",
    "insufficient_funds": "Your Stripe account has insufficient funds to cover the payout.",
    "could_not_process": "The bank could not process this payout.",
}


def cover_negative_balance(state: State, created: int, account: Record, amount: int, currency: str) -> Record:
    """Stripe collects a connected account's negative balance from the platform (which is liable for it):
    a connect_collection_transfer takes `amount` from the platform's balance and credits it to the account
    (type connect_collection_transfer in both scopes: https://docs.stripe.com/reports/balance-transaction-types).
    No event and no object of either scope names these: only a re-list of each scope's ledger finds them.
    Returns the platform's side."""
    source = f"ccsr_{account['id'][5:]}{created}"
    balance_txn(state, account["id"], created, amount, currency, "connect_collection_transfer",
                "connect_collection_transfer", source, settle_in=account["default_currency"], available_on=created)
    return balance_txn(state, PLATFORM, created, -amount, currency, "connect_collection_transfer",
                       "connect_collection_transfer", source, settle_in=state.platform_currency, available_on=created)


def fail_payout(state: State, created: int, payout: Record, code: str = "account_closed") -> Record:
    """The bank bounced the payout: money returns to the balance, with a failure balance transaction."""
    previous = {"status": payout["status"], "failure_code": None}
    txn = balance_txn(state, payout["_scope"], created, payout["amount"], payout["currency"], "payout_failure",
                      "payout_reversal", payout["id"], description="Payout failure", available_on=created)
    payout.update(status="failed", failure_code=code, failure_message=FAILURE_MESSAGES.get(code, code),
                  failure_balance_transaction=txn["id"])
    emit(state, created, "payout.failed", payout, previous)
    return payout


def cancel_payout(state: State, created: int, payout: Record, request: dict[str, Any] | None = None) -> Record:
    previous = {"status": payout["status"]}
    txn = balance_txn(state, payout["_scope"], created, payout["amount"], payout["currency"], "payout_cancel",
                      "payout_reversal", payout["id"], description="Payout cancellation", available_on=created)
    payout.update(status="canceled", failure_balance_transaction=txn["id"])
    emit(state, created, "payout.canceled", payout, previous, request)
    return payout


# --- accounts ---------------------------------------------------------------------------------

def update_account(state: State, created: int, account: Record, changes: dict[str, Any],
                   request: dict[str, Any] | None = None) -> Record:
    """Apply field changes to an account record and send account.updated with what they replaced."""
    previous = {key: copy.deepcopy(account.get(key)) for key in changes}
    account.update(changes)
    emit(state, created, "account.updated", account, _public_previous(previous), request)
    return account


def _public_previous(previous: dict[str, Any]) -> dict[str, Any]:
    """Record field names -> the Stripe attribute paths they render to (close enough for diffs)."""
    names = {"payout_schedule": "settings", "business_name": "business_profile"}
    return {names.get(k, k): v for k, v in previous.items()}


REJECT_REASONS = ("fraud", "terms_of_service", "other")
# From API version 2026-09-30.endive, `fraud` is split in four and `credit` is added
# (https://docs.stripe.com/changelog/endive/2026-09-30/updated-reject-reason-codes).
REJECT_REASONS_SPLIT = "2026-09-30"
# From 2026-07-29.dahlia, `payouts_action` (pause, the default, or none) says whether rejecting pauses payouts
# (https://docs.stripe.com/changelog/dahlia/2026-07-29/reject-connected-accounts-with-non-zero-balances).
PAYOUTS_ACTION_SINCE = "2026-07-29"
REJECT_REASONS_SINCE_SPLIT = ("fraud_payment_method_casher", "fraud_payment_method_tester", "fraud_no_intent_to_fulfill",
                              "fraud_other", "credit", "terms_of_service", "other")


def _disabled_reason(reject_reason: str) -> str:
    """requirements.disabled_reason after a rejection: the fraud kinds are all `rejected.fraud`, and
    `credit` (not among disabled_reason's values) is `rejected.other`."""
    if reject_reason.startswith("fraud"):
        return "rejected.fraud"
    return "rejected.other" if reject_reason == "credit" else f"rejected.{reject_reason}"


def create_account(state: State, created: int, fields: dict[str, Any], bank: dict[str, Any] | None,
                   request: dict[str, Any] | None = None) -> Record:
    """A connected account with nothing due, active capabilities and one bank account (`bank` given by its
    number gets a fingerprint derived from it; without one, a fresh test bank account)."""
    country, currency = fields["country"], fields["default_currency"]
    bank = bank or {"country": country, "currency": currency, "account_number": None, "routing_number": None}
    number = bank.pop("account_number")
    fingerprint = (hashlib.sha256(f"{bank['country']}:{bank['routing_number']}:{number}".encode()).hexdigest()[:16]
                   if number else state.new_id("fp")[3:19])
    rec: Record = {
        "id": state.new_id("acct"), "created": created, "capabilities": {"card_payments": "active", "transfers": "active"},
        "charges_enabled": True, "payouts_enabled": True, "details_submitted": True,
        "requirements": {"eventually_due": [], "currently_due": [], "past_due": [], "pending_verification": []},
        "future_requirements": {}, "payout_schedule": {"interval": "daily", "delay_days": 2},
        "external_accounts": [dict(bank, id=state.new_id("ba"), fingerprint=fingerprint,
                                   last4=(number or "000123456789")[-4:], bank_name="STRIPE TEST BANK", status="new")],
        "tos_date": created, "legal": {"name": fields.get("business_name")}, **fields}
    state.add("accounts", rec, PLATFORM)
    emit(state, created, "account.updated", rec, {}, request)
    return rec


def deauthorize(state: State, created: int, account: Record) -> Record:
    """The account disconnects from the platform (a Standard account in its own Dashboard): the platform
    can no longer reach it, and hears of it once, in its own events."""
    account["_deauthorized"] = created
    application = {"id": state.application_id, "object": "application", "name": "Connect Ops Demo Platform",
                   "_resource": "application", "_scope": PLATFORM}
    event = {"id": state.new_id("evt"), "created": created, "type": "account.application.deauthorized",
             "snapshot": application, "previous_attributes": None, "about_account": account["id"]}
    return state.add("events", event, PLATFORM)


def add_external_account(state: State, created: int, account: Record, last4: str) -> Record:
    """A second bank account for payouts (what a merchant adds in its Dashboard)."""
    first = account["external_accounts"][0]
    bank = dict(first, id=state.new_id("ba"), fingerprint=state.new_id("fp")[3:19], last4=last4[-4:].rjust(4, "0"))
    account["external_accounts"] = [*account["external_accounts"], bank]
    emit(state, created, "account.external_account.created",
         dict(bank, _resource="bank_accounts", _scope=account["id"], _account=account["id"]))
    return bank


def delete_external_account(state: State, created: int, account: Record, bank: Record,
                            request: dict[str, Any] | None = None) -> Record | None:
    """A bank account removed: Stripe announces it with `account.external_account.deleted` only."""
    account["external_accounts"] = [b for b in account["external_accounts"] if b is not bank]
    snapshot = dict(bank, _resource="bank_accounts", _scope=account["id"], _account=account["id"])
    return emit(state, created, "account.external_account.deleted", snapshot, request=request)


def reject_account(state: State, created: int, account: Record, reason: str,
                   request: dict[str, Any] | None = None, pause_payouts: bool = True) -> Record:
    """Payments stop for good; payouts stop too unless the platform asked to leave them (`payouts_action=none`)."""
    requirements = dict(account["requirements"], disabled_reason=_disabled_reason(reason))
    capabilities = dict.fromkeys(account["capabilities"], "inactive")
    changes = {"requirements": requirements, "charges_enabled": False, "capabilities": capabilities}
    if pause_payouts:
        changes["payouts_enabled"] = False
    return update_account(state, created, account, changes, request)
