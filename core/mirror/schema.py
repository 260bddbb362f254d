"""What the mirror holds: one table per Stripe resource, and how each typed column is read from an object.

This is the one place that maps Stripe's names to ours (the API resource, the `object` value, the id
prefixes, the table); the store, the sync and the lookups all read it from here.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# --------------------------------------------------------------------------- field extractors


def _getter(dotted: str) -> Callable[[dict[str, Any]], Any]:
    """A reader of a dotted path, split once (extractors run for every column of every synced row)."""
    parts = tuple(dotted.split("."))
    if len(parts) == 1:
        key = parts[0]
        return lambda obj: obj.get(key)

    def get(obj: dict[str, Any]) -> Any:
        value: Any = obj
        for part in parts:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    return get


def _spec(get: Callable[..., Any], kind: str, *args: Any) -> Any:
    """Tag an extractor with what it does, so the store can compute the same column in SQL."""
    get.sql_spec = (kind, *args)  # type: ignore[attr-defined]
    return get


def field(dotted: str) -> Callable[[dict[str, Any]], Any]:
    """A plain value; nested dicts/lists are kept as JSON text (typed columns stay scalar)."""
    path = _getter(dotted)

    def get(obj: dict[str, Any]) -> Any:
        value = path(obj)
        return json.dumps(value) if isinstance(value, (dict, list)) else value

    return _spec(get, "field", dotted)


def ref(dotted: str) -> Callable[[dict[str, Any]], str | None]:
    """The id of a reference whether Stripe sent it as an id or expanded it into an object."""

    path = _getter(dotted)

    def get(obj: dict[str, Any]) -> str | None:
        value = path(obj)
        return value.get("id") if isinstance(value, dict) else value

    return _spec(get, "ref", dotted)


def to_timestamp(value: Any) -> datetime | None:
    """Unix seconds to a naive UTC datetime (DuckDB TIMESTAMP has no zone; ours is always UTC)."""
    if value is None:
        return None
    return datetime.fromtimestamp(int(value), UTC).replace(tzinfo=None)


def ts(dotted: str) -> Callable[[dict[str, Any]], datetime | None]:
    path = _getter(dotted)
    return _spec(lambda obj: to_timestamp(path(obj)), "ts", dotted)


def count(dotted: str) -> Callable[[dict[str, Any]], int | None]:
    path = _getter(dotted)

    def get(obj: dict[str, Any]) -> int | None:
        value = path(obj)
        return len(value) if isinstance(value, list) else None

    return _spec(get, "count", dotted)


def first(*getters: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    def get(obj: dict[str, Any]) -> Any:
        for getter in getters:
            value = getter(obj)
            if value not in (None, ""):
                return value
        return None

    return _spec(get, "first", *getters)


def as_float(dotted: str) -> Callable[[dict[str, Any]], float | None]:
    path = _getter(dotted)

    def get(obj: dict[str, Any]) -> float | None:
        value = path(obj)
        return None if value is None else float(value)

    return _spec(get, "float", dotted)


# --------------------------------------------------------------------------- table specs


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    get: Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class Table:
    """A resource table: which Stripe object it mirrors and how typed columns are read from it."""

    name: str
    stripe_object: str  # the `object` value of its rows, e.g. "charge"
    columns: tuple[Column, ...]
    resource: str = ""  # the API's list path, /v1/<resource>; defaults to the table's name
    id_prefixes: tuple[str, ...] = ()  # Stripe id prefixes of its objects, e.g. ("ch", "py")

    @property
    def api_resource(self) -> str:
        return self.resource or self.name

    @property
    def label(self) -> str:
        """What one row is, in words: "charge", "application fee"."""
        return self.stripe_object.replace("_", " ")

    @property
    def column_names(self) -> list[str]:
        return ["id", "account", "scope", "created", *(c.name for c in self.columns), "raw", "synced_at"]

    def row(self, scope: str, obj: dict[str, Any], synced_at: datetime) -> tuple[Any, ...]:
        typed = (c.get(obj) for c in self.columns)
        return (obj["id"], scope or None, scope, to_timestamp(obj.get("created")), *typed,
                json.dumps(obj, separators=(",", ":")), synced_at)


def _cols(*specs: tuple[str, str, Callable[[dict[str, Any]], Any]]) -> tuple[Column, ...]:
    return tuple(Column(*spec) for spec in specs)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table("connected_accounts", "account", _cols(
            ("type", "VARCHAR", field("type")),
            ("country", "VARCHAR", field("country")),
            ("email", "VARCHAR", field("email")),
            ("business_type", "VARCHAR", field("business_type")),
            ("business_name", "VARCHAR", first(field("business_profile.name"), field("company.name"))),
            ("default_currency", "VARCHAR", field("default_currency")),
            ("charges_enabled", "BOOLEAN", field("charges_enabled")),
            ("payouts_enabled", "BOOLEAN", field("payouts_enabled")),
            ("details_submitted", "BOOLEAN", field("details_submitted")),
            ("requirements_disabled_reason", "VARCHAR", field("requirements.disabled_reason")),
            ("requirements_past_due_count", "INTEGER", count("requirements.past_due")),
            ("requirements_currently_due_count", "INTEGER", count("requirements.currently_due")),
            ("requirements_current_deadline", "TIMESTAMP", ts("requirements.current_deadline")),
            ("payout_schedule_interval", "VARCHAR", field("settings.payouts.schedule.interval")),
            ("payout_schedule_delay_days", "INTEGER", field("settings.payouts.schedule.delay_days")),
        ), resource="accounts", id_prefixes=("acct",)),
        Table("charges", "charge", _cols(
            ("amount", "BIGINT", field("amount")),
            ("amount_captured", "BIGINT", field("amount_captured")),
            ("amount_refunded", "BIGINT", field("amount_refunded")),
            ("currency", "VARCHAR", field("currency")),
            ("status", "VARCHAR", field("status")),
            ("paid", "BOOLEAN", field("paid")),
            ("captured", "BOOLEAN", field("captured")),
            ("refunded", "BOOLEAN", field("refunded")),
            ("disputed", "BOOLEAN", field("disputed")),
            ("failure_code", "VARCHAR", field("failure_code")),
            ("outcome_risk_level", "VARCHAR", field("outcome.risk_level")),
            ("outcome_risk_score", "INTEGER", field("outcome.risk_score")),
            ("outcome_type", "VARCHAR", field("outcome.type")),
            ("application_fee_id", "VARCHAR", ref("application_fee")),
            ("application_fee_amount", "BIGINT", field("application_fee_amount")),
            ("balance_transaction_id", "VARCHAR", ref("balance_transaction")),
            ("customer_id", "VARCHAR", ref("customer")),
            ("payment_intent_id", "VARCHAR", ref("payment_intent")),
            ("transfer_id", "VARCHAR", ref("transfer")),
            ("transfer_destination_id", "VARCHAR", ref("transfer_data.destination")),
            ("transfer_group", "VARCHAR", field("transfer_group")),
            ("source_transfer_id", "VARCHAR", ref("source_transfer")),
            ("on_behalf_of_id", "VARCHAR", ref("on_behalf_of")),
            ("payment_method_type", "VARCHAR", field("payment_method_details.type")),
            ("card_brand", "VARCHAR", field("payment_method_details.card.brand")),
            ("card_country", "VARCHAR", field("payment_method_details.card.country")),
            ("description", "VARCHAR", field("description")),
        ), id_prefixes=("ch", "py")),
        Table("transfers", "transfer", _cols(
            ("amount", "BIGINT", field("amount")),
            ("amount_reversed", "BIGINT", field("amount_reversed")),
            ("currency", "VARCHAR", field("currency")),
            ("reversed", "BOOLEAN", field("reversed")),
            ("destination_id", "VARCHAR", ref("destination")),
            ("destination_payment_id", "VARCHAR", ref("destination_payment")),
            ("source_transaction_id", "VARCHAR", ref("source_transaction")),
            ("balance_transaction_id", "VARCHAR", ref("balance_transaction")),
            ("transfer_group", "VARCHAR", field("transfer_group")),
            ("description", "VARCHAR", field("description")),
        ), id_prefixes=("tr",)),
        Table("payouts", "payout", _cols(
            ("amount", "BIGINT", field("amount")),
            ("currency", "VARCHAR", field("currency")),
            ("status", "VARCHAR", field("status")),
            ("arrival_date", "TIMESTAMP", ts("arrival_date")),
            ("automatic", "BOOLEAN", field("automatic")),
            ("method", "VARCHAR", field("method")),
            ("type", "VARCHAR", field("type")),
            ("failure_code", "VARCHAR", field("failure_code")),
            ("failure_message", "VARCHAR", field("failure_message")),
            ("balance_transaction_id", "VARCHAR", ref("balance_transaction")),
            ("failure_balance_transaction_id", "VARCHAR", ref("failure_balance_transaction")),
            ("destination_id", "VARCHAR", ref("destination")),
        ), id_prefixes=("po",)),
        Table("application_fees", "application_fee", _cols(
            ("amount", "BIGINT", field("amount")),
            ("amount_refunded", "BIGINT", field("amount_refunded")),
            ("currency", "VARCHAR", field("currency")),
            ("refunded", "BOOLEAN", field("refunded")),
            ("account_id", "VARCHAR", ref("account")),
            ("charge_id", "VARCHAR", ref("charge")),
            ("originating_transaction_id", "VARCHAR", ref("originating_transaction")),
            ("balance_transaction_id", "VARCHAR", ref("balance_transaction")),
        ), id_prefixes=("fee",)),
        Table("refunds", "refund", _cols(
            ("amount", "BIGINT", field("amount")),
            ("currency", "VARCHAR", field("currency")),
            ("status", "VARCHAR", field("status")),
            ("reason", "VARCHAR", field("reason")),
            ("charge_id", "VARCHAR", ref("charge")),
            ("payment_intent_id", "VARCHAR", ref("payment_intent")),
            ("balance_transaction_id", "VARCHAR", ref("balance_transaction")),
        ), id_prefixes=("re", "pyr")),
        Table("disputes", "dispute", _cols(
            ("amount", "BIGINT", field("amount")),
            ("currency", "VARCHAR", field("currency")),
            ("status", "VARCHAR", field("status")),
            ("reason", "VARCHAR", field("reason")),
            ("charge_id", "VARCHAR", ref("charge")),
            ("payment_intent_id", "VARCHAR", ref("payment_intent")),
            ("is_charge_refundable", "BOOLEAN", field("is_charge_refundable")),
            ("evidence_due_by", "TIMESTAMP", ts("evidence_details.due_by")),
        ), id_prefixes=("dp", "du")),
        # Radar's early fraud warnings (issuers' fraud reports, Visa's TC40): listed per scope, with events
        # (https://docs.stripe.com/api/radar/early_fraud_warnings). VAMP counts them with disputes.
        Table("early_fraud_warnings", "radar.early_fraud_warning", _cols(
            ("charge_id", "VARCHAR", ref("charge")),
            ("payment_intent_id", "VARCHAR", ref("payment_intent")),
            ("fraud_type", "VARCHAR", field("fraud_type")),
            ("actionable", "BOOLEAN", field("actionable")),
        )),  # (no id prefix: the support lookup resolves ids of the tables it knows)
        Table("balance_transactions", "balance_transaction", _cols(
            ("amount", "BIGINT", field("amount")),
            ("currency", "VARCHAR", field("currency")),
            ("fee", "BIGINT", field("fee")),
            ("net", "BIGINT", field("net")),
            ("type", "VARCHAR", field("type")),
            ("reporting_category", "VARCHAR", field("reporting_category")),
            ("exchange_rate", "DOUBLE", as_float("exchange_rate")),
            ("available_on", "TIMESTAMP", ts("available_on")),
            ("status", "VARCHAR", field("status")),
            ("source_id", "VARCHAR", ref("source")),
            ("description", "VARCHAR", field("description")),
        ), id_prefixes=("txn",)),
        Table("events", "event", _cols(
            ("type", "VARCHAR", field("type")),
            ("api_version", "VARCHAR", field("api_version")),
            ("data_object_id", "VARCHAR", field("data.object.id")),
            ("data_object_object", "VARCHAR", field("data.object.object")),
            ("request_id", "VARCHAR", first(ref("request"))),
        ), id_prefixes=("evt",)),
    )
}

TABLE_BY_OBJECT: dict[str, Table] = {t.stripe_object: t for t in TABLES.values()}  # "charge" -> charges
TABLE_BY_RESOURCE: dict[str, Table] = {t.api_resource: t for t in TABLES.values()}  # "accounts" -> connected_accounts
TABLE_BY_ID_PREFIX: dict[str, Table] = {p: t for t in TABLES.values() for p in t.id_prefixes}  # "ch" -> charges


def table_of(resource: str) -> str:
    """The table that mirrors an API resource ("accounts" -> "connected_accounts")."""
    return TABLE_BY_RESOURCE[resource].name


def table_of_object(stripe_object: str) -> str | None:
    """The table that mirrors objects of this `object` value, if we mirror them."""
    table = TABLE_BY_OBJECT.get(stripe_object)
    return table.name if table else None
