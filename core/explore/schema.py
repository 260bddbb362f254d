"""The schema browser: each queryable table with its columns, their types and a one-line meaning, plus a
few example rows. Types come from the database itself; meanings are written here, and a test checks that
every column of every queryable table has one (a new column needs its line)."""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from core.explore.guard import QUERYABLE
from core.mirror.schema import TABLES

EXAMPLE_ROWS = 3
RAW_PREVIEW = 200  # characters of `raw` shown in example rows (the whole object is in the column)

TABLE_MEANINGS: dict[str, str] = {
    "connected_accounts": "Connected accounts: the platform's merchants (Stripe's Account objects). One row each.",
    "charges": "Charges of every Connect flow: direct (in the merchant's scope), destination and separate (on the "
               "platform), and the `py_` payments a transfer lands with in the merchant's scope.",
    "transfers": "Transfers from the platform to connected accounts (separate charges, destination charges).",
    "payouts": "Payouts from a balance to a bank account: the merchants' (in their scope) and the platform's.",
    "application_fees": "Application fees the platform collected on its merchants' charges.",
    "refunds": "Refunds of charges (`re_`) and of `py_` payments when a transfer is reversed (`pyr_`).",
    "disputes": "Disputes (chargebacks) and early fraud warnings' disputes of charges.",
    "early_fraud_warnings": "Radar's early fraud warnings: issuers' fraud reports (Visa's TC40) on charges, by scope.",
    "balance_transactions": "Every movement of a balance (the platform's or a merchant's): the ledger behind balances.",
    "events": "Stripe events the sync replayed (30 days are kept by Stripe), by scope.",
    "account_disconnections": "Connected accounts that left the platform (deauthorized, or access refused); "
                              "their rows stay as they last were.",
}

COMMON: dict[str, str] = {
    "id": "Stripe's id of the object.",
    "account": "The connected account whose scope the object lives in; empty for the platform's own objects.",
    "scope": "Same as account, but '' for the platform (part of the key with id).",
    "created": "When Stripe created it (UTC).",
    "raw": "The whole object as Stripe returned it (JSON): raw ->> '$.field' reads any field.",
    "synced_at": "When the sync last wrote this row (UTC, this machine's clock).",
}
_AMOUNT = "Amount in minor units of `currency` (cents; JPY has none)."
_CURRENCY = "Three-letter ISO currency code, lower case."

COLUMN_MEANINGS: dict[str, dict[str, str]] = {
    "connected_accounts": {
        "type": "standard, express or custom (how much of Stripe's dashboard the merchant gets).",
        "country": "The account's country (two letters).",
        "email": "The account's email address.",
        "business_type": "individual, company, non_profit or government_entity.",
        "business_name": "Business profile name, else company name.",
        "default_currency": "The currency payouts go out in by default.",
        "charges_enabled": "Whether the account can take charges now.",
        "payouts_enabled": "Whether Stripe pays out to the account now.",
        "details_submitted": "Whether the merchant finished onboarding.",
        "requirements_disabled_reason": "Why Stripe disabled the account (requirements.past_due, rejected.fraud...).",
        "requirements_past_due_count": "How many requirements are past due.",
        "requirements_currently_due_count": "How many requirements are due now.",
        "requirements_current_deadline": "When currently due requirements become past due.",
        "payout_schedule_interval": "manual, daily, weekly or monthly.",
        "payout_schedule_delay_days": "Days between a charge and the payout of its funds.",
    },
    "charges": {
        "amount": _AMOUNT,
        "amount_captured": "Amount captured, in minor units.",
        "amount_refunded": "Amount refunded so far, in minor units.",
        "currency": _CURRENCY,
        "status": "succeeded, pending or failed.",
        "paid": "Whether the charge succeeded or was authorized for capture.",
        "captured": "Whether the charge was captured.",
        "refunded": "Whether it was refunded in full.",
        "disputed": "Whether it has a dispute.",
        "failure_code": "Why it failed (card_declined, insufficient_funds...).",
        "outcome_risk_level": "Radar's risk level: normal, elevated or highest.",
        "outcome_risk_score": "Radar's risk score, 0-100.",
        "outcome_type": "authorized, issuer_declined, blocked...",
        "application_fee_id": "The application fee (`fee_`) taken on it.",
        "application_fee_amount": "The application fee requested, in minor units.",
        "balance_transaction_id": "Its balance transaction (`txn_`).",
        "customer_id": "The customer charged (`cus_`).",
        "payment_intent_id": "Its PaymentIntent (`pi_`).",
        "transfer_id": "The transfer a destination charge made (`tr_`).",
        "transfer_destination_id": "A destination charge's merchant (transfer_data.destination).",
        "transfer_group": "Groups a separate charge with its transfers.",
        "source_transfer_id": "Set on a `py_` payment: the transfer it landed with (so not a sale of its own).",
        "on_behalf_of_id": "The account the charge is made on behalf of.",
        "payment_method_type": "card, sepa_debit, ...",
        "card_brand": "visa, mastercard, amex...",
        "card_country": "Country of the card's issuer (two letters).",
        "description": "The charge's description (written by the merchant or platform).",
    },
    "transfers": {
        "amount": _AMOUNT,
        "amount_reversed": "Amount reversed so far, in minor units.",
        "currency": _CURRENCY,
        "reversed": "Whether it was reversed in full.",
        "destination_id": "The connected account it went to.",
        "destination_payment_id": "The `py_` payment it created in that account.",
        "source_transaction_id": "The charge it was paid from (separate charges).",
        "balance_transaction_id": "Its balance transaction on the platform.",
        "transfer_group": "Groups it with the charge it pays out.",
        "description": "The transfer's description.",
    },
    "payouts": {
        "amount": _AMOUNT,
        "currency": _CURRENCY,
        "status": "paid, pending, in_transit, canceled or failed.",
        "arrival_date": "When it is expected at (or reached) the bank.",
        "automatic": "Whether Stripe made it on the payout schedule.",
        "method": "standard or instant.",
        "type": "bank_account or card.",
        "failure_code": "Why it failed (account_closed, could_not_process...).",
        "failure_message": "Stripe's words for the failure.",
        "balance_transaction_id": "Its balance transaction.",
        "failure_balance_transaction_id": "The balance transaction that returned a failed payout's money.",
        "destination_id": "The bank account (`ba_`) or card it was sent to.",
    },
    "application_fees": {
        "amount": _AMOUNT,
        "amount_refunded": "Amount refunded to the merchant, in minor units.",
        "currency": _CURRENCY,
        "refunded": "Whether it was refunded in full.",
        "account_id": "The connected account it was taken from.",
        "charge_id": "The charge (or `py_` payment) it was taken on.",
        "originating_transaction_id": "The platform's charge a destination charge's fee came from.",
        "balance_transaction_id": "Its balance transaction on the platform.",
    },
    "refunds": {
        "amount": _AMOUNT,
        "currency": _CURRENCY,
        "status": "succeeded, pending, failed or canceled.",
        "reason": "duplicate, fraudulent, requested_by_customer, or empty.",
        "charge_id": "The charge (or `py_` payment) refunded.",
        "payment_intent_id": "Its PaymentIntent.",
        "balance_transaction_id": "Its balance transaction.",
    },
    "disputes": {
        "amount": "Disputed amount in minor units of `currency`.",
        "currency": _CURRENCY,
        "status": "warning_needs_response, needs_response, under_review, won, lost...",
        "reason": "fraudulent, duplicate, product_not_received, subscription_canceled...",
        "charge_id": "The disputed charge.",
        "payment_intent_id": "Its PaymentIntent.",
        "is_charge_refundable": "Whether the charge can still be refunded.",
        "evidence_due_by": "Deadline for the evidence (UTC).",
    },
    "early_fraud_warnings": {
        "charge_id": "The charge the issuer reported as fraud.",
        "payment_intent_id": "Its PaymentIntent.",
        "fraud_type": "made_with_stolen_card, card_never_received, unauthorized_use_of_card, misc...",
        "actionable": "Whether the charge can still be refunded to head off a dispute (not refunded nor disputed).",
    },
    "balance_transactions": {
        "amount": "Gross amount in minor units of `currency` (negative: money out).",
        "currency": _CURRENCY,
        "fee": "Stripe's fees on it, in minor units.",
        "net": "amount - fee: what the balance moved by.",
        "type": "charge, payment, refund, transfer, payout, application_fee, adjustment...",
        "reporting_category": "Stripe's reporting category (charge, refund, payout, fee...).",
        "exchange_rate": "The conversion rate when the source was in another currency.",
        "available_on": "When the funds become available (UTC).",
        "status": "pending or available.",
        "source_id": "The object that moved the money (charge, refund, payout, transfer...).",
        "description": "The balance transaction's description.",
    },
    "events": {
        "type": "The event's type (charge.refunded, account.updated...).",
        "api_version": "The API version its object is rendered in.",
        "data_object_id": "The id of the object it is about.",
        "data_object_object": "That object's type (charge, account...).",
        "request_id": "The API request that caused it, if any.",
    },
    "account_disconnections": {
        "account_id": "The connected account that left.",
        "disconnected_at": "When (Stripe's time: the event's, or when access was first refused).",
        "how": "The deauthorization event's id, or 'access refused'.",
    },
}


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str
    meaning: str


@dataclass(frozen=True)
class TableInfo:
    name: str
    meaning: str
    rows: int
    columns: tuple[ColumnInfo, ...]


def meaning(table: str, column: str) -> str:
    return COLUMN_MEANINGS.get(table, {}).get(column) or COMMON.get(column, "")


def tables(db: duckdb.DuckDBPyConnection) -> list[TableInfo]:
    """Every table the explorer reads, in QUERYABLE's order, with its columns as the database has them."""
    types: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in db.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE schema_name = 'main' "
            "AND list_contains(?, table_name) ORDER BY table_name, column_index", [list(QUERYABLE)]).fetchall():
        types.setdefault(table, []).append((column, kind))
    counts = dict(db.execute(" UNION ALL ".join(
        f"SELECT '{name}', count(*) FROM {name}" for name in QUERYABLE if name in types)).fetchall()) if types else {}
    return [TableInfo(name=name, meaning=TABLE_MEANINGS.get(name, ""), rows=int(counts.get(name, 0)),
                      columns=tuple(ColumnInfo(c, t, meaning(name, c)) for c, t in types[name]))
            for name in QUERYABLE if name in types]


def examples(db: duckdb.DuckDBPyConnection, table: str, limit: int = EXAMPLE_ROWS) -> pd.DataFrame:
    """A few of the table's newest rows (`raw` cut to its first characters; the column holds all of it)."""
    if table not in QUERYABLE:
        raise ValueError(f"{table} is not a table the explorer reads")
    order = "created DESC" if table in TABLES else "1"
    frame = db.execute(f"SELECT * FROM {table} ORDER BY {order} LIMIT ?", [int(limit)]).df()
    if "raw" in frame.columns:
        frame["raw"] = [None if v is None else (v if len(v) <= RAW_PREVIEW else v[:RAW_PREVIEW] + "…")
                        for v in frame["raw"]]
    return frame
