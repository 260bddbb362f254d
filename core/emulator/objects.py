"""Records -> Stripe's JSON shapes, one function per resource (shapes from Stripe's OpenAPI fixtures).

Derived values (refunded, captured, balance-transaction status) are computed here, at read time,
so they can never disagree with the fields they come from.
"""
from __future__ import annotations

from typing import Any, Callable

from .ledger import fee_of, net_of
from .state import Record, State

Renderer = Callable[[State, Record], dict[str, Any]]
DASHBOARD = "https://connect.emulator.local"


def _list(url: str, data: list[dict[str, Any]], has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def _address(country: str | None = None, **parts: Any) -> dict[str, Any]:
    address = dict.fromkeys(("city", "country", "line1", "line2", "postal_code", "state"))
    address.update(parts, country=country)
    return address


def _requirements(req: dict[str, Any]) -> dict[str, Any]:
    return {
        "alternatives": [],
        "current_deadline": req.get("current_deadline"),
        "currently_due": list(req.get("currently_due", [])),
        "disabled_reason": req.get("disabled_reason"),
        "errors": list(req.get("errors", [])),
        "eventually_due": list(req.get("eventually_due", [])),
        "past_due": list(req.get("past_due", [])),
        "pending_verification": list(req.get("pending_verification", [])),
    }


def bank_account(state: State, rec: Record, account_id: str) -> dict[str, Any]:
    return {
        "id": rec["id"],
        "object": "bank_account",
        "account": account_id,
        "account_holder_name": rec.get("account_holder_name"),
        "account_holder_type": rec.get("account_holder_type", "company"),
        "account_type": None,
        "available_payout_methods": ["standard"],
        "bank_name": rec["bank_name"],
        "country": rec["country"],
        "currency": rec["currency"],
        "customer": None,
        "default_for_currency": True,
        "fingerprint": rec["fingerprint"],
        "last4": rec["last4"],
        "metadata": {},
        "routing_number": rec.get("routing_number"),
        "status": rec.get("status", "new"),
    }


def account(state: State, rec: Record) -> dict[str, Any]:
    acct_id = rec["id"]
    schedule = {"delay_days": rec["payout_schedule"].get("delay_days", 2),
                "interval": rec["payout_schedule"]["interval"]}
    for anchor in ("weekly_anchor", "monthly_anchor"):
        if anchor in rec["payout_schedule"]:
            schedule[anchor] = rec["payout_schedule"][anchor]
    banks = [bank_account(state, b, acct_id) for b in rec["external_accounts"]]
    body: dict[str, Any] = {
        "id": acct_id,
        "object": "account",
        "business_profile": {
            "annual_revenue": None,
            "estimated_worker_count": None,
            "mcc": rec.get("mcc"),
            "minority_owned_business_designation": None,
            "name": rec.get("business_name"),
            "product_description": rec.get("product_description"),
            "support_address": None,
            "support_email": rec.get("support_email"),
            "support_phone": rec.get("support_phone"),
            "support_url": None,
            "url": rec.get("url"),
        },
        "business_type": rec.get("business_type"),
        "capabilities": dict(rec["capabilities"]),
        "charges_enabled": rec["charges_enabled"],
        "controller": _controller(rec["type"], rec.get("_losses_payments"), rec.get("fees_payer")),
        "country": rec["country"],
        "created": rec["created"],
        "default_currency": rec["default_currency"],
        "details_submitted": rec["details_submitted"],
        "email": rec.get("email"),
        "external_accounts": _list(f"/v1/accounts/{acct_id}/external_accounts", banks),
        "future_requirements": _requirements(rec.get("future_requirements", {})),
        "metadata": dict(rec.get("metadata", {})),
        "payouts_enabled": rec["payouts_enabled"],
        "requirements": _requirements(rec["requirements"]),
        "settings": _account_settings(rec, schedule),
        "tos_acceptance": {"date": rec.get("tos_date"), "ip": "203.0.113.7" if rec.get("tos_date") else None,
                           "user_agent": None},
        "type": rec["type"],
    }
    if rec["type"] != "standard":
        body[rec.get("business_type") or "company"] = _legal_entity(rec)
    if "risk_controls" in rec:  # set only by a preview API version's update (see api._risk_control_changes)
        body["risk_controls"] = {side: dict(rec["risk_controls"][side]) for side in ("charges", "payouts")}
    body.update(rec.get("extra", {}))
    return body


def _controller(account_type: str, losses: str | None = None, fees_payer: str | None = None) -> dict[str, Any]:
    if fees_payer == "application":  # set at creation (controller[fees][payer]); the platform pays Stripe's fees
        return {"fees": {"payer": "application"}, "is_controller": True,
                "losses": {"payments": losses or "application"}, "requirement_collection": "application",
                "stripe_dashboard": {"type": "none"}, "type": "application"}
    if account_type == "standard":  # Stripe bills the account and issues its 1099 itself
        return {"fees": {"payer": "account"}, "is_controller": False, "type": "account"}
    dashboard = "express" if account_type == "express" else "none"
    collector = "stripe" if account_type == "express" else "application"
    return {"fees": {"payer": "application"}, "is_controller": True, "losses": {"payments": losses or "application"},
            "requirement_collection": collector, "stripe_dashboard": {"type": dashboard}, "type": "application"}


def _account_settings(rec: Record, schedule: dict[str, Any]) -> dict[str, Any]:
    descriptor = rec.get("statement_descriptor")
    return {
        "bacs_debit_payments": {"display_name": None, "service_user_number": None},
        "branding": {"icon": None, "logo": None, "primary_color": None, "secondary_color": None},
        "card_issuing": {"tos_acceptance": {"date": None, "ip": None}},
        "card_payments": {"decline_on": {"avs_failure": False, "cvc_failure": True},
                          "statement_descriptor_prefix": descriptor[:10] if descriptor else None,
                          "statement_descriptor_prefix_kana": None, "statement_descriptor_prefix_kanji": None},
        "dashboard": {"display_name": rec.get("business_name"), "timezone": rec.get("timezone", "Etc/UTC")},
        "invoices": {"default_account_tax_ids": None, "hosted_payment_method_save": "offer"},
        "payments": {"statement_descriptor": descriptor, "statement_descriptor_kana": None,
                     "statement_descriptor_kanji": None, "statement_descriptor_prefix_kana": None,
                     "statement_descriptor_prefix_kanji": None},
        "payouts": {"debit_negative_balances": rec["type"] != "standard", "schedule": schedule,
                    "statement_descriptor": None},
        "sepa_debit_payments": {},
    }


def _legal_entity(rec: Record) -> dict[str, Any]:
    legal = rec.get("legal", {})
    address = _address(rec["country"], **legal.get("address", {}))
    if rec.get("business_type") == "individual":
        return {
            "id": legal.get("person_id"), "object": "person", "account": rec["id"],
            "first_name": legal.get("first_name"), "last_name": legal.get("last_name"),
            "address": address, "email": rec.get("email"), "created": rec["created"],
            "id_number_provided": bool(rec.get("tax_id_provided")),
            "ssn_last_4_provided": bool(rec.get("tax_id_provided")) and rec["country"] == "US",
            "metadata": {}, "relationship": {"representative": True, "owner": True, "title": None},
            "requirements": _requirements({}), "verification": {"status": "verified" if rec["details_submitted"] else "unverified"},
        }
    return {
        "name": legal["name"] if "name" in legal else rec.get("business_name"),  # None: legal name not given
        "address": address,
        "phone": rec.get("support_phone"),
        "structure": legal.get("structure"),
        "tax_id_provided": bool(rec.get("tax_id_provided")),
        "directors_provided": True,
        "executives_provided": True,
        "owners_provided": True,
        "verification": {"document": {"back": None, "details": None, "details_code": None, "front": None}},
    }


def charge(state: State, rec: Record) -> dict[str, Any]:
    succeeded = rec["status"] == "succeeded"
    refunds = [refund(state, state.records[r]) for r in reversed(rec.get("refund_ids", ()))][:10]
    is_payment = rec["id"].startswith("py_")
    body: dict[str, Any] = {
        "id": rec["id"],
        "object": "charge",
        "amount": rec["amount"],
        "amount_captured": rec.get("amount_captured", rec["amount"]) if succeeded else 0,
        "amount_refunded": rec.get("amount_refunded", 0),
        "application": state.application_id if rec.get("application_fee_amount") is not None or rec.get("application") else None,
        "application_fee": rec.get("application_fee"),
        "application_fee_amount": rec.get("application_fee_amount"),
        "balance_transaction": rec.get("balance_transaction"),
        "billing_details": {"address": _address(rec.get("card", {}).get("country")),
                            "email": rec.get("customer_email"), "name": rec.get("customer_name"),
                            "phone": None, "tax_id": None},
        "calculated_statement_descriptor": rec.get("statement_descriptor"),
        "captured": succeeded and rec.get("captured", True),
        "created": rec["created"],
        "currency": rec["currency"],
        "customer": None,
        "description": rec.get("description"),
        "disputed": bool(rec.get("dispute")),
        "failure_balance_transaction": None,
        "failure_code": rec.get("failure_code"),
        "failure_message": rec.get("failure_message"),
        "fraud_details": {},
        "livemode": False,
        "metadata": dict(rec.get("metadata", {})),
        "on_behalf_of": rec.get("on_behalf_of"),
        "outcome": _outcome(rec) if not is_payment else None,
        "paid": succeeded,
        "payment_intent": rec.get("payment_intent"),
        "payment_method": rec.get("payment_method"),
        "payment_method_details": _payment_method_details(rec),
        "receipt_email": rec.get("customer_email"),
        "receipt_number": None,
        "receipt_url": None if is_payment else f"{DASHBOARD}/receipts/payment/{rec['id']}",
        "refunded": rec["amount"] > 0 and rec.get("amount_refunded", 0) >= rec["amount"],
        "refunds": _list(f"/v1/charges/{rec['id']}/refunds", refunds, len(rec.get("refund_ids", ())) > 10),
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": rec.get("source_transfer"),
        "statement_descriptor": rec.get("statement_descriptor"),
        "statement_descriptor_suffix": None,
        "status": rec["status"],
        "transfer_data": ({"amount": rec.get("transfer_amount"), "destination": rec["destination"]}
                          if rec.get("destination") else None),
        "transfer_group": rec.get("transfer_group"),
    }
    if rec.get("transfer"):
        body["transfer"] = rec["transfer"]
    body.update(rec.get("extra", {}))
    return body


def _outcome(rec: Record) -> dict[str, Any]:
    outcome = rec.get("outcome", {})
    failed = rec["status"] == "failed"
    return {
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": ("not_sent_to_network" if outcome.get("type") == "blocked"
                           else "declined_by_network" if failed else "approved_by_network"),
        "reason": outcome.get("reason"),
        "risk_level": outcome.get("risk_level", "normal"),
        "risk_score": outcome.get("risk_score", 20),
        "seller_message": "The bank did not return any further details with this decline." if failed
        else "Payment complete.",
        "type": outcome.get("type") or ("issuer_declined" if failed else "authorized"),
    }


def _payment_method_details(rec: Record) -> dict[str, Any]:
    if rec["id"].startswith("py_"):
        return {"stripe_account": {}, "type": "stripe_account"}
    card = rec.get("card", {})
    if rec.get("payment_method_type") == "card_present":  # in person, on a reader
        return {"card_present": {"brand": card.get("brand", "visa"), "country": card.get("country", "US"),
                                 "exp_month": card.get("exp_month", 12), "exp_year": card.get("exp_year", 2030),
                                 "fingerprint": card.get("fingerprint"), "funding": card.get("funding", "credit"),
                                 "last4": card.get("last4", "4242"), "network": card.get("brand", "visa"),
                                 "read_method": "contactless_emv"}, "type": "card_present"}
    return {"card": {
        "amount_authorized": rec["amount"] if rec["status"] == "succeeded" else None,
        "authorization_code": None,
        "brand": card.get("brand", "visa"),
        "checks": {"address_line1_check": None, "address_postal_code_check": "pass", "cvc_check": "pass"},
        "country": card.get("country", "US"),
        "exp_month": card.get("exp_month", 12),
        "exp_year": card.get("exp_year", 2030),
        "extended_authorization": {"status": "disabled"},
        "fingerprint": card.get("fingerprint"),
        "funding": card.get("funding", "credit"),
        "incremental_authorization": {"status": "unavailable"},
        "installments": None,
        "last4": card.get("last4", "4242"),
        "mandate": None,
        "multicapture": {"status": "unavailable"},
        "network": card.get("brand", "visa"),
        "network_token": {"used": False},
        "network_transaction_id": None,
        "overcapture": {"maximum_amount_capturable": rec["amount"], "status": "unavailable"},
        "regulated_status": "unregulated",
        "three_d_secure": None,
        "wallet": None,
    }, "type": "card"}


def transfer(state: State, rec: Record) -> dict[str, Any]:
    reversals = [transfer_reversal(state, state.records[r]) for r in reversed(rec.get("reversal_ids", ()))]
    return {
        "id": rec["id"],
        "object": "transfer",
        "amount": rec["amount"],
        "amount_reversed": rec.get("amount_reversed", 0),
        "balance_transaction": rec.get("balance_transaction"),
        "created": rec["created"],
        "currency": rec["currency"],
        "description": rec.get("description"),
        "destination": rec["destination"],
        "destination_payment": rec.get("destination_payment"),
        "livemode": False,
        "metadata": dict(rec.get("metadata", {})),
        "reversals": _list(f"/v1/transfers/{rec['id']}/reversals", reversals[:10], len(reversals) > 10),
        "reversed": rec.get("amount_reversed", 0) >= rec["amount"] > 0,
        "source_transaction": rec.get("source_transaction"),
        "source_type": "card",
        "transfer_group": rec.get("transfer_group"),
        **rec.get("extra", {}),
    }


def transfer_reversal(state: State, rec: Record) -> dict[str, Any]:
    return {
        "id": rec["id"],
        "object": "transfer_reversal",
        "amount": rec["amount"],
        "balance_transaction": rec.get("balance_transaction"),
        "created": rec["created"],
        "currency": rec["currency"],
        "destination_payment_refund": rec.get("destination_payment_refund"),
        "metadata": dict(rec.get("metadata", {})),
        "source_refund": rec.get("source_refund"),
        "transfer": rec["transfer"],
    }


def payout(state: State, rec: Record) -> dict[str, Any]:
    return {
        "id": rec["id"],
        "object": "payout",
        "amount": rec["amount"],
        "application_fee": None,
        "application_fee_amount": None,
        "arrival_date": rec["arrival_date"],
        "automatic": rec.get("automatic", True),
        "balance_transaction": rec.get("balance_transaction"),
        "created": rec["created"],
        "currency": rec["currency"],
        "description": rec.get("description", "STRIPE PAYOUT"),
        "destination": rec.get("destination"),
        "failure_balance_transaction": rec.get("failure_balance_transaction"),
        "failure_code": rec.get("failure_code"),
        "failure_message": rec.get("failure_message"),
        "livemode": False,
        "metadata": dict(rec.get("metadata", {})),
        "method": "standard",
        "original_payout": None,
        "payout_method": None,
        "reconciliation_status": "completed" if rec["status"] == "paid" else "not_applicable",
        "reversed_by": None,
        "source_type": "card",
        "statement_descriptor": None,
        "status": rec["status"],
        "trace_id": {"status": "supported" if rec["status"] == "paid" else "pending",
                     "value": rec.get("trace_id")},
        "type": "bank_account",
        **rec.get("extra", {}),
    }


def application_fee(state: State, rec: Record) -> dict[str, Any]:
    refunds = [fee_refund(state, state.records[r]) for r in reversed(rec.get("refund_ids", ()))]
    return {
        "id": rec["id"],
        "object": "application_fee",
        "account": rec["account"],
        "amount": rec["amount"],
        "amount_refunded": rec.get("amount_refunded", 0),
        "application": state.application_id,
        "balance_transaction": rec.get("balance_transaction"),
        "charge": rec["charge"],
        "created": rec["created"],
        "currency": rec["currency"],
        "fee_source": {"charge": rec["charge"], "type": "charge"},
        "livemode": False,
        "originating_transaction": rec.get("originating_transaction"),
        "refunded": rec.get("amount_refunded", 0) >= rec["amount"] > 0,
        "refunds": _list(f"/v1/application_fees/{rec['id']}/refunds", refunds[:10], len(refunds) > 10),
    }


def fee_refund(state: State, rec: Record) -> dict[str, Any]:
    return {
        "id": rec["id"],
        "object": "fee_refund",
        "amount": rec["amount"],
        "balance_transaction": rec.get("balance_transaction"),
        "created": rec["created"],
        "currency": rec["currency"],
        "fee": rec["fee"],
        "metadata": dict(rec.get("metadata", {})),
    }


def refund(state: State, rec: Record) -> dict[str, Any]:
    is_payment_refund = rec["id"].startswith("pyr_")
    return {
        "id": rec["id"],
        "object": "refund",
        "amount": rec["amount"],
        "balance_transaction": rec.get("balance_transaction"),
        "charge": rec["charge"],
        "created": rec["created"],
        "currency": rec["currency"],
        "customer": None,
        "customer_account": None,
        "destination_details": None if is_payment_refund else
        {"card": {"reference_status": "pending", "reference_type": "acquirer_reference_number",
                  "type": "refund"}, "type": "card"},
        "metadata": dict(rec.get("metadata", {})),
        "payment_intent": rec.get("payment_intent"),
        "payment_method": None,
        "reason": rec.get("reason"),
        "receipt_number": None,
        "source_transfer_reversal": rec.get("source_transfer_reversal"),
        "status": rec.get("status", "succeeded"),
        "transfer_reversal": rec.get("transfer_reversal"),
    }


def dispute(state: State, rec: Record) -> dict[str, Any]:
    txns = [balance_transaction(state, state.records[t]) for t in rec.get("balance_transactions", ())]
    return {
        "id": rec["id"],
        "object": "dispute",
        "amount": rec["amount"],
        "balance_transactions": txns,
        "charge": rec["charge"],
        "created": rec["created"],
        "currency": rec["currency"],
        "enhanced_eligibility_types": [],
        "evidence": dict.fromkeys(_EVIDENCE_FIELDS) | {"enhanced_evidence": {}},
        "evidence_details": {"due_by": rec["due_by"], "enhanced_eligibility": {},
                             "has_evidence": rec.get("has_evidence", False),
                             "past_due": rec["status"] in ("needs_response", "warning_needs_response")
                             and rec["due_by"] < state.now(),
                             "submission_count": int(rec.get("has_evidence", False))},
        "is_charge_refundable": rec.get("is_charge_refundable", False),
        "livemode": False,
        "metadata": dict(rec.get("metadata", {})),
        "payment_intent": rec.get("payment_intent"),
        "payment_method_details": {"card": {"brand": "visa", "case_type": "chargeback",
                                            "network_reason_code": rec.get("network_reason_code", "10.4")},
                                   "type": "card"},
        "reason": rec["reason"],
        "status": rec["status"],
    }


_EVIDENCE_FIELDS = (
    "access_activity_log", "billing_address", "cancellation_policy", "cancellation_policy_disclosure",
    "cancellation_rebuttal", "customer_communication", "customer_email_address", "customer_name",
    "customer_purchase_ip", "customer_signature", "duplicate_charge_documentation",
    "duplicate_charge_explanation", "duplicate_charge_id", "product_description", "receipt",
    "refund_policy", "refund_policy_disclosure", "refund_refusal_explanation", "service_date",
    "service_documentation", "shipping_address", "shipping_carrier", "shipping_date",
    "shipping_documentation", "shipping_tracking_number", "uncategorized_file", "uncategorized_text",
)


def balance_transaction(state: State, rec: Record) -> dict[str, Any]:
    fee_details = rec.get("fee_details", ())
    fee = fee_of(rec)
    return {
        "id": rec["id"],
        "object": "balance_transaction",
        "amount": rec["amount"],
        "available_on": rec["available_on"],
        "balance_type": "payments",
        "created": rec["created"],
        "currency": rec["currency"],
        "description": rec.get("description"),
        "exchange_rate": rec.get("exchange_rate"),
        "fee": fee,
        "fee_details": [dict(item, application=item.get("application"),
                             currency=rec["currency"]) for item in fee_details],
        "net": rec["amount"] - fee,
        "reporting_category": rec["reporting_category"],
        "source": rec.get("source"),
        "status": "available" if rec["available_on"] <= state.now() else "pending",
        "type": rec["type"],
    }


def event(state: State, rec: Record) -> dict[str, Any]:
    snapshot = rec["snapshot"]
    data: dict[str, Any] = {"object": RENDERERS[snapshot["_resource"]](state, snapshot)}
    if rec.get("previous_attributes") is not None:
        data["previous_attributes"] = rec["previous_attributes"]
    body = {
        "id": rec["id"],
        "object": "event",
        "api_version": "2025-09-30.clover",
        "created": rec["created"],
        "data": data,
        "livemode": False,
        "pending_webhooks": 0,
        "request": {"id": rec.get("request_id"), "idempotency_key": rec.get("idempotency_key")},
        "type": rec["type"],
    }
    if rec["_scope"] is not None:
        body["account"] = rec["_scope"]
    elif rec.get("about_account"):  # a platform event about a connected account (deauthorization)
        body["account"] = rec["about_account"]
    return body


def balance(state: State, scope: str | None) -> dict[str, Any]:
    """Sum of balance transactions by currency, split by whether funds are available yet."""
    now = state.now()
    available: dict[str, int] = {}
    pending: dict[str, int] = {}
    coll = state.collections.get((scope, "balance_transactions"))
    for txn_id in coll.ids if coll else ():
        rec = state.records[txn_id]
        net = net_of(rec)
        bucket = available if rec["available_on"] <= now else pending
        bucket[rec["currency"]] = bucket.get(rec["currency"], 0) + net
    currencies = sorted(set(available) | set(pending)) or ["usd"]
    return {
        "object": "balance",
        "available": [{"amount": available.get(c, 0), "currency": c, "source_types": {"card": available.get(c, 0)}}
                      for c in currencies],
        "connect_reserved": [{"amount": 0, "currency": c} for c in currencies] if scope is None else [],
        "livemode": False,
        "pending": [{"amount": pending.get(c, 0), "currency": c, "source_types": {"card": pending.get(c, 0)}}
                    for c in currencies],
    }


RENDERERS: dict[str, Renderer] = {
    "accounts": account,
    "charges": charge,
    "transfers": transfer,
    "transfer_reversals": transfer_reversal,
    "payouts": payout,
    "application_fees": application_fee,
    "fee_refunds": fee_refund,
    "refunds": refund,
    "disputes": dispute,
    "balance_transactions": balance_transaction,
    "events": event,
    "application": lambda state, rec: {"id": rec["id"], "object": "application", "name": rec.get("name")},
    "bank_accounts": lambda state, rec: bank_account(state, rec, rec["_account"]),
}


def render(state: State, rec: Record) -> dict[str, Any]:
    return RENDERERS[rec["_resource"]](state, rec)
