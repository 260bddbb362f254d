"""Stripe's REST endpoints for Connect resources: routing, validation and the objects they return."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from . import ledger, objects
from .state import PLATFORM, Record, State

NAMES = {"accounts": "account", "charges": "charge", "transfers": "transfer", "payouts": "payout",
         "application_fees": "application fee", "refunds": "refund", "disputes": "dispute",
         "balance_transactions": "balance transaction", "events": "event",
         "transfer_reversals": "transfer reversal", "fee_refunds": "fee refund"}
LIST_FILTERS = {
    "accounts": (),
    "charges": ("payment_intent", "transfer_group", "customer"),
    "transfers": ("destination", "transfer_group"),
    "payouts": ("status", "destination"),
    "application_fees": ("charge",),
    "refunds": ("charge", "payment_intent"),
    "disputes": ("charge", "payment_intent"),
    "balance_transactions": ("type", "source", "currency"),
    "events": ("type", "types", "delivery_success"),
}
LIST_PARAMS = ("limit", "starting_after", "ending_before", "created", "expand")


class ApiError(Exception):
    """An error answered in Stripe's JSON shape."""

    def __init__(self, status: int, message: str, type_: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = status, message, type_, code, param

    def body(self, request_id: str) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message,
                                 "request_log_url": f"https://dashboard.stripe.com/test/logs/{request_id}"}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        return {"error": error}


def missing(resource: str, object_id: str, param: str = "id") -> ApiError:
    return ApiError(404, f"No such {NAMES.get(resource, resource)}: '{object_id}'", code="resource_missing",
                    param=param)


@dataclass
class Call:
    """One API request after auth: who is asking, in which scope, with which params."""

    method: str
    path: str
    params: dict[str, Any]
    scope: str | None
    now: int
    request_id: str
    idempotency_key: str | None = None
    match: dict[str, str] = field(default_factory=dict)
    api_version: str = ""  # the request's Stripe-Version (the server's default when it sent none)

    @property
    def request(self) -> dict[str, Any]:
        return {"id": self.request_id, "idempotency_key": self.idempotency_key}


Handler = Callable[[State, Call], Any]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    allowed: tuple[str, ...]
    template: str


ROUTES: list[Route] = []


def route(method: str, template: str, allowed: tuple[str, ...] = ()) -> Callable[[Handler], Handler]:
    regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")

    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(method, regex, handler, allowed + ("expand",), template))
        return handler

    return register


def resolve(method: str, path: str) -> tuple[Route, dict[str, str]]:
    known_path = False
    for candidate in ROUTES:
        found = candidate.pattern.match(path)
        if found:
            known_path = True
            if candidate.method == method:
                return candidate, found.groupdict()
    if known_path:
        raise ApiError(405, f"Unrecognized request URL ({method}: {path}). This endpoint does not accept {method}.")
    raise ApiError(404, f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or "
                        "we can help at https://support.stripe.com/.")


def check_unknown(params: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for name in params:
        if name not in allowed:
            raise ApiError(400, f"Received unknown parameter: {name}", param=name)


# --- param helpers ----------------------------------------------------------------------------

def _int(params: dict[str, Any], name: str, low: int | None = None, high: int | None = None,
         default: int | None = None) -> int | None:
    raw = params.get(name)
    if raw is None:
        return default
    if isinstance(raw, (dict, list)) or not re.fullmatch(r"-?\d+", str(raw)):
        raise ApiError(400, f"Invalid integer: {raw}", param=name)
    value = int(raw)
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ApiError(400, f"Invalid {name}: must be {bounds}", param=name)
    return value


def _bool(params: dict[str, Any], name: str, default: bool = False) -> bool:
    raw = params.get(name)
    if raw is None:
        return default
    if str(raw).lower() in ("true", "false"):
        return str(raw).lower() == "true"
    raise ApiError(400, f"Invalid boolean: {raw}", param=name)


def _choice(params: dict[str, Any], name: str, options: tuple[str, ...], required: bool = False) -> str | None:
    raw = params.get(name)
    if raw is None or raw == "":
        if required:
            raise ApiError(400, f"Missing required param: {name}.", param=name)
        return None
    if raw not in options:
        raise ApiError(400, f"Invalid {name}: must be one of {', '.join(options)}", param=name)
    return str(raw)


def _required(params: dict[str, Any], name: str) -> str:
    raw = params.get(name)
    if raw is None or raw == "" or isinstance(raw, (dict, list)):
        raise ApiError(400, f"Missing required param: {name}.", param=name)
    return str(raw)


def _metadata(params: dict[str, Any]) -> dict[str, str] | None:
    raw = params.get("metadata")
    if raw is None:
        return None
    if raw == "":
        return {}
    if not isinstance(raw, dict):
        raise ApiError(400, "Invalid object", param="metadata")
    return {str(k): str(v) for k, v in raw.items()}


def _created_filter(params: dict[str, Any]) -> dict[str, int]:
    raw = params.get("created")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        value = _int(params, "created")
        return {"gte": value, "lte": value}  # type: ignore[dict-item]
    result = {}
    for op, value in raw.items():
        if op not in ("gt", "gte", "lt", "lte"):
            raise ApiError(400, f"Received unknown parameter: created[{op}]", param=f"created[{op}]")
        result[op] = _int({f"created[{op}]": value}, f"created[{op}]")
        if result[op] is None:
            raise ApiError(400, f"Invalid integer: {value}", param=f"created[{op}]")
    return result  # type: ignore[return-value]


# --- lists and retrieves ----------------------------------------------------------------------

def list_page(state: State, call: Call, resource: str, url: str, keep: Callable[[Record], bool] | None = None,
              scope: str | None | object = ...) -> dict[str, Any]:
    params = call.params
    check_unknown(params, LIST_PARAMS + LIST_FILTERS[resource])
    limit = _int(params, "limit", 1, 100, default=10)
    the_scope = call.scope if scope is ... else scope
    cursors = {}
    for name in ("starting_after", "ending_before"):
        value = params.get(name)
        if value is not None:
            if value == "" or not state.contains(the_scope, resource, str(value)):
                raise missing(resource, str(value), param=name)
            cursors[name] = str(value)
    if len(cursors) == 2:
        raise ApiError(400, "You may only specify one of these parameters: ending_before, starting_after.",
                       param="ending_before")
    page = state.page(the_scope, resource, limit or 10, _created_filter(params), cursors.get("starting_after"),
                      cursors.get("ending_before"), _combine(keep, _filters(resource, params)))
    data = [objects.render(state, state.records[i]) for i in page.ids]
    return {"object": "list", "data": data, "has_more": page.has_more, "url": url}


def _combine(*keeps: Callable[[Record], bool] | None) -> Callable[[Record], bool] | None:
    active = [k for k in keeps if k is not None]
    if not active:
        return None
    return lambda rec: all(k(rec) for k in active)


def _filters(resource: str, params: dict[str, Any]) -> Callable[[Record], bool] | None:
    """Equality filters (`charge=`, `destination=`, `type=`), and Stripe's `types[]`/wildcards for events."""
    checks: list[Callable[[Record], bool]] = []
    for name in LIST_FILTERS[resource]:
        value = params.get(name)
        if value is None or name == "delivery_success":
            continue
        if resource == "events" and name in ("type", "types"):
            checks.append(_event_type_filter(name, value))
        elif resource == "payouts" and name == "status":
            _choice(params, "status", ("pending", "paid", "failed", "canceled", "in_transit"))
            checks.append(lambda rec, v=value: rec["status"] == v)
        else:
            checks.append(lambda rec, n=name, v=value: rec.get(n) == v)
    if not checks:
        return None
    return lambda rec: all(c(rec) for c in checks)


def _event_type_filter(name: str, value: Any) -> Callable[[Record], bool]:
    values = value if isinstance(value, list) else [value]
    if name == "types" and not isinstance(value, list):
        raise ApiError(400, "Invalid array", param="types")
    if len(values) > 20:
        raise ApiError(400, "You may pass at most 20 types.", param="types")
    patterns = [re.compile("^" + re.escape(str(v)).replace(r"\*", ".*") + "$") for v in values]
    return lambda rec: any(p.match(rec["type"]) for p in patterns)


def retrieve(state: State, call: Call, resource: str, object_id: str) -> Record:
    rec = state.get(object_id, call.scope, resource)
    if rec is None:
        raise missing(resource, object_id)
    if resource == "accounts" and rec.get("_deauthorized"):
        raise no_access(object_id)
    return rec


def no_access(account_id: str) -> ApiError:
    """What Stripe answers about an account the platform may not reach (never connected, or disconnected)."""
    return ApiError(403, f"The provided key does not have access to account '{account_id}' (or that account does "
                         "not exist). Application access may have been revoked.", "invalid_request_error",
                    code="account_invalid")


def _list_endpoint(resource: str) -> None:
    @route("GET", f"/v1/{resource}")
    def _list(state: State, call: Call) -> Any:
        if resource == "accounts" and call.scope is not PLATFORM:
            raise ApiError(400, "This endpoint is only available to platforms, without a Stripe-Account header.")
        if resource == "accounts":  # an account that disconnected is no longer the platform's to list
            return list_page(state, call, resource, f"/v1/{resource}", keep=lambda rec: not rec.get("_deauthorized"))
        return list_page(state, call, resource, f"/v1/{resource}")

    @route("GET", f"/v1/{resource}/{{id}}")
    def _retrieve(state: State, call: Call) -> Any:
        check_unknown(call.params, ("expand",))
        if resource == "accounts" and call.scope is not PLATFORM and call.match["id"] == call.scope:
            return objects.render(state, state.records[call.scope])
        return objects.render(state, retrieve(state, call, resource, call.match["id"]))


for _resource in LIST_FILTERS:
    _list_endpoint(_resource)


@route("DELETE", "/v1/accounts/{account}/external_accounts/{id}", ())
def delete_external_account(state: State, call: Call) -> Any:
    account = state.records.get(call.match["account"])
    if account is None or account["_resource"] != "accounts":
        raise missing("accounts", call.match["account"])
    if account.get("_deauthorized") or (call.scope is not PLATFORM and call.scope != account["id"]):
        raise no_access(account["id"])
    banks = account["external_accounts"]
    bank = next((b for b in banks if b["id"] == call.match["id"]), None)
    if bank is None:
        raise missing("external_accounts", call.match["id"])
    if len(banks) == 1:
        raise ApiError(400, "You cannot delete the default bank account for your default currency. Please make "
                            "another bank account the default for this currency and try again.")
    ledger.delete_external_account(state, call.now, account, bank, call.request)
    return {"id": bank["id"], "object": "bank_account", "deleted": True}


@route("GET", "/v1/balance")
def get_balance(state: State, call: Call) -> Any:
    return objects.balance(state, call.scope)


@route("GET", "/v1/account")
def current_account(state: State, call: Call) -> Any:
    if call.scope is not PLATFORM:
        return objects.render(state, state.records[call.scope])
    return {"id": state.platform_id, "object": "account", "type": "standard", "country": "US",
            "default_currency": state.platform_currency, "business_profile": {"name": "Connect Ops Demo Platform"},
            "charges_enabled": True, "payouts_enabled": True, "email": "platform@connect-ops.example.com",
            "settings": {"dashboard": {"display_name": "Connect Ops Demo Platform"}}}


@route("GET", "/v1/application_fees/{id}/refunds", ("limit", "starting_after", "ending_before"))
def list_fee_refunds(state: State, call: Call) -> Any:
    fee = retrieve(state, call, "application_fees", call.match["id"])
    return _sublist(state, call, "fee_refunds", fee["refund_ids"], objects.fee_refund,
                    f"/v1/application_fees/{fee['id']}/refunds")


@route("GET", "/v1/transfers/{id}/reversals", ("limit", "starting_after", "ending_before"))
def list_reversals(state: State, call: Call) -> Any:
    transfer = retrieve(state, call, "transfers", call.match["id"])
    return _sublist(state, call, "transfer_reversals", transfer["reversal_ids"], objects.transfer_reversal,
                    f"/v1/transfers/{transfer['id']}/reversals")


def _sublist(state: State, call: Call, resource: str, ids: list[str], render: Callable[[State, Record], Any],
             url: str) -> dict[str, Any]:
    """A list nested in its parent (a fee's refunds, a transfer's reversals), newest first, paged as every
    list is: `starting_after` gives what is older than the cursor, `ending_before` what is newer (the
    nearest `limit` of them), and `has_more` says whether more lie further in that direction."""
    limit = _int(call.params, "limit", 1, 100, 10) or 10
    newest_first = list(reversed(ids))
    cursors = {name: str(call.params[name]) for name in ("starting_after", "ending_before")
               if call.params.get(name) is not None}
    if len(cursors) == 2:
        raise ApiError(400, "You may only specify one of these parameters: ending_before, starting_after.",
                       param="ending_before")
    for name, value in cursors.items():
        if value not in newest_first:
            raise missing(resource, value, param=name)
    if "ending_before" in cursors:
        newer = newest_first[:newest_first.index(cursors["ending_before"])]
        chosen, has_more = newer[-limit:], len(newer) > limit
    else:
        start = newest_first.index(cursors["starting_after"]) + 1 if "starting_after" in cursors else 0
        chosen, has_more = newest_first[start:start + limit], len(newest_first) > start + limit
    return {"object": "list", "data": [render(state, state.records[i]) for i in chosen], "has_more": has_more,
            "url": url}


@route("GET", "/v1/transfers/{transfer}/reversals/{id}")
def get_reversal(state: State, call: Call) -> Any:
    rec = state.records.get(call.match["id"])
    if rec is None or rec["_resource"] != "transfer_reversals" or rec["transfer"] != call.match["transfer"] \
            or call.scope is not PLATFORM:
        raise missing("transfer_reversals", call.match["id"])
    return objects.render(state, rec)


# --- writes -----------------------------------------------------------------------------------

RISK_TOKENS = {"tok_riskLevelElevated": {"risk_level": "elevated", "risk_score": 70, "reason": "elevated_risk_level"},
               "tok_riskLevelHighest": {"risk_level": "highest", "risk_score": 90, "reason": "highest_risk_level"}}


def _transfer_amount(params: dict[str, Any], amount: int, fee: int | None, flow: str) -> int | None:
    """transfer_data[amount]: what a destination charge sends on (the platform keeps the rest, no fee object)."""
    data = params.get("transfer_data")
    if not isinstance(data, dict) or data.get("amount") is None:
        return None
    if flow != "destination":
        raise ApiError(400, "transfer_data[amount] requires transfer_data[destination].", param="transfer_data[amount]")
    if fee is not None:
        raise ApiError(400, "You cannot specify both application_fee_amount and transfer_data[amount].",
                       param="transfer_data[amount]")
    return _int({"transfer_data[amount]": data["amount"]}, "transfer_data[amount]", 0, amount)


@route("POST", "/v1/charges", ("amount", "currency", "source", "description", "metadata", "application_fee_amount",
                               "transfer_data", "destination", "on_behalf_of", "transfer_group", "receipt_email",
                               "capture", "statement_descriptor"))
def create_charge(state: State, call: Call) -> Any:
    """Test-mode charges: tok_visa succeeds, tok_chargeDeclined declines, tok_createDispute is disputed;
    Radar's test tokens set the risk level (tok_riskLevelElevated, tok_riskLevelHighest) or block the
    charge (tok_chargeDeclinedFraudulent), as https://docs.stripe.com/radar/testing lists them."""
    params = call.params
    amount = _int(params, "amount", 1, 99_999_999)
    if amount is None:
        raise ApiError(400, "Missing required param: amount.", param="amount")
    currency = _choice(params, "currency", tuple(ledger.USD_PER_UNIT), required=True)
    source = params.get("source") or "tok_visa"
    destination = (params.get("transfer_data") or {}).get("destination") if isinstance(
        params.get("transfer_data"), dict) else None
    destination = destination or params.get("destination")
    fee = _int(params, "application_fee_amount", 0, amount)
    if call.scope is not PLATFORM:
        account, flow = state.records[call.scope], "direct"
    elif destination:
        account = state.get(str(destination), PLATFORM, "accounts")
        if account is None:
            raise ApiError(400, f"No such destination: '{destination}'", code="resource_missing",
                           param="transfer_data[destination]")
        flow = "destination"
    else:
        if fee is not None:
            raise ApiError(400, "Can only apply an application_fee_amount when the request is made on behalf of "
                                "another account.", param="application_fee_amount")
        account, flow = {"id": PLATFORM, "default_currency": state.platform_currency}, "separate"
    if source in ("tok_chargeDeclined", "tok_chargeDeclinedFraudulent"):
        declined = {"description": params.get("description")}
        if source == "tok_chargeDeclinedFraudulent":
            declined["outcome"] = {"risk_level": "highest", "risk_score": 95, "type": "blocked",
                                   "reason": "highest_risk_level"}
        ledger.create_charge(state, call.now, account, flow, amount, str(currency), fee, "failed", declined,
                             call.request)
        raise ApiError(402, "Your card was declined.", type_="card_error", code="card_declined")
    details = {"description": params.get("description"), "metadata": _metadata(params) or {},
               "transfer_group": params.get("transfer_group"), "customer_email": params.get("receipt_email"),
               "card": {"brand": "visa", "last4": "0259" if source == "tok_createDispute" else "4242",
                        "country": "US", "fingerprint": "EmuTestCard42424"},
               "outcome": RISK_TOKENS.get(str(source), {"risk_level": "normal", "risk_score": 12})}
    if flow == "separate":
        details["transfer_group"] = params.get("transfer_group")
    rec = ledger.create_charge(state, call.now, account, flow, amount, str(currency), fee, "succeeded",
                               {k: v for k, v in details.items() if v is not None}, call.request,
                               transfer_amount=_transfer_amount(params, amount, fee, flow),
                               capture=_bool(params, "capture", default=True))
    if source == "tok_createDispute":
        ledger.create_dispute(state, call.now, rec, "fraudulent", request=call.request)
    if source == "tok_bypassPending" and rec.get("balance_transaction"):  # funds available at once, as Stripe's
        state.records[rec["balance_transaction"]]["available_on"] = call.now  # test card 4000000000000077 does
    return objects.render(state, rec)


@route("POST", "/v1/refunds", ("charge", "payment_intent", "amount", "reason", "refund_application_fee",
                               "reverse_transfer", "metadata", "instructions_email"))
def create_refund(state: State, call: Call) -> Any:
    params = call.params
    charge = _refund_target(state, call)
    if charge["status"] != "succeeded":
        raise ApiError(400, f"Charge {charge['id']} has failed; there is nothing to refund.", code="charge_not_refundable",
                       param="charge")
    if charge.get("dispute") and state.records[charge["dispute"]]["status"] in ("lost", "needs_response",
                                                                                  "under_review"):
        raise ApiError(400, f"Charge {charge['id']} has been charged back; cannot issue a refund.",
                       code="charge_disputed", param="charge")
    if charge.get("captured") is False:  # nothing moved yet: an authorization is released, not refunded
        raise ApiError(400, f"Charge {charge['id']} has not been captured; capture it, or let the authorization "
                            "expire.", code="charge_not_captured", param="charge")
    left = ledger.refundable(charge)
    if left <= 0:
        raise ApiError(400, f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded",
                       param="charge")
    amount = _int(params, "amount", 1, default=left) or left
    if amount > left:
        raise ApiError(400, f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                       code="amount_too_large", param="amount")
    reason = _choice(params, "reason", ("duplicate", "fraudulent", "requested_by_customer"))
    refund_fee = _bool(params, "refund_application_fee")
    reverse = _bool(params, "reverse_transfer")
    if reverse and not charge.get("transfer"):
        raise ApiError(400, "You cannot reverse the transfer of a charge that has no transfer "
                            "(reverse_transfer is for destination charges).", param="reverse_transfer")
    if refund_fee and not charge.get("application_fee"):
        raise ApiError(400, "This charge has no application fee to refund.", param="refund_application_fee")
    rec = ledger.create_refund(state, call.now, charge, amount, reason, refund_fee, reverse, _metadata(params),
                               call.request)
    return objects.render(state, rec)


def _refund_target(state: State, call: Call) -> Record:
    charge_id = call.params.get("charge")
    intent = call.params.get("payment_intent")
    if charge_id:
        rec = state.get(str(charge_id), call.scope, "charges")
        if rec is None:
            raise missing("charges", str(charge_id), param="charge")
        return rec
    if intent:
        for rec_id in state.collection(call.scope, "charges").ids:
            rec = state.records[rec_id]
            if rec.get("payment_intent") == intent:
                return rec
        raise ApiError(404, f"No such payment_intent: '{intent}'", code="resource_missing", param="payment_intent")
    raise ApiError(400, "One of the following params should be provided for this request: payment_intent or charge.",
                   param="charge")


PAYOUT_INTERVALS = ("manual", "daily", "weekly", "monthly")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@route("POST", "/v1/accounts/{id}", ("metadata", "email", "business_profile", "settings", "risk_controls", "company",
                                     "individual"))
def update_account(state: State, call: Call) -> Any:
    account = retrieve(state, call, "accounts", call.match["id"])
    params = call.params
    changes: dict[str, Any] = _risk_control_changes(account, params.get("risk_controls"), call.api_version)
    metadata = _metadata(params)
    if metadata is not None:
        merged = dict(account.get("metadata", {}), **metadata) if metadata else {}
        changes["metadata"] = {k: v for k, v in merged.items() if v != ""}
    if account["type"] == "standard" and set(params) - {"metadata", "expand"}:
        raise ApiError(400, "This application does not have the required permissions to update "
                            f"{', '.join(sorted(set(params) - {'metadata', 'expand'}))} on a Standard account.",
                       type_="invalid_request_error", code="oauth_not_supported",
                       param=sorted(set(params) - {"metadata", "expand"})[0])
    if "email" in params:
        changes["email"] = str(params["email"]) or None
    changes.update(_profile_changes(account, params.get("business_profile")))
    from .legal import legal_changes  # company[address] / individual[address] (core/emulator/legal.py)

    changes.update(legal_changes(account, params))
    try:
        schedule = _schedule_change(account, params.get("settings"))
    except ApiError as exc:  # the helpers name the leaf param; Stripe names the full nested path
        payouts = params["settings"].get("payouts") if isinstance(params.get("settings"), dict) else None
        if isinstance(payouts, dict) and exc.param and not exc.param.startswith("settings"):
            inner = "[schedule]" if isinstance(payouts.get("schedule"), dict) and exc.param in payouts["schedule"] else ""
            exc.param = f"settings[payouts]{inner}[{exc.param}]"
        raise
    if schedule is not None:
        changes["payout_schedule"] = schedule
    if changes:
        ledger.update_account(state, call.now, account, changes, call.request)
    return objects.render(state, account)


COUNTRY_CURRENCY = {"US": "usd", "GB": "gbp", "FR": "eur", "DE": "eur", "CA": "cad", "JP": "jpy"}


@route("POST", "/v1/accounts", ("type", "country", "email", "business_type", "business_profile", "default_currency",
                                "metadata", "external_account", "controller"))
def create_account(state: State, call: Call) -> Any:
    """A connected account, as if onboarding finished at once (nothing due), so tests can start from a clean
    merchant. A bank account given by number gets Stripe's kind of fingerprint: the same number, the same
    fingerprint, whoever adds it (how platforms spot merchants sharing a bank account)."""
    if call.scope is not PLATFORM:
        raise ApiError(400, "This endpoint is only available to platforms, without a Stripe-Account header.")
    params = call.params
    kind = _choice(params, "type", ("custom", "express", "standard"), required=True)
    country = str(params.get("country") or "US").upper()
    currency = _choice(params, "default_currency", tuple(ledger.USD_PER_UNIT)) or COUNTRY_CURRENCY.get(country)
    if currency is None:
        raise ApiError(400, f"Please provide a default_currency for accounts in {country}.", param="default_currency")
    profile = params.get("business_profile") if isinstance(params.get("business_profile"), dict) else {}
    check_unknown(profile, ("name", "url", "mcc", "product_description", "support_email", "support_phone"))
    fields = {"type": kind, "country": country, "default_currency": currency, "email": params.get("email"),
              "business_type": _choice(params, "business_type", ("individual", "company", "non_profit",
                                                                  "government_entity")) or "company",
              "business_name": profile.get("name"), "url": profile.get("url"), "mcc": profile.get("mcc"),
              "product_description": profile.get("product_description"), "metadata": _metadata(params) or {}}
    controller = params.get("controller") if isinstance(params.get("controller"), dict) else {}
    payer = (controller.get("fees") or {}).get("payer") if isinstance(controller.get("fees"), dict) else None
    if payer is not None:
        fields["fees_payer"] = _choice({"controller[fees][payer]": payer}, "controller[fees][payer]",
                                       ("account", "application"))
    bank = _external_account(params.get("external_account"), country, currency)
    from . import versions  # (it registers routes of its own here: imported late)

    if versions.controller_losses(params.get("controller"), kind, call.api_version) == "stripe":
        fields["_losses_payments"] = "stripe"
    return objects.render(state, ledger.create_account(state, call.now, fields, bank, call.request))


def _external_account(raw: Any, country: str, currency: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ApiError(400, "Invalid object", param="external_account")
    check_unknown(raw, ("object", "country", "currency", "account_number", "routing_number", "account_holder_name"))
    number = _required(raw, "account_number") if "account_number" in raw else ""
    if not number.isdigit() or not 4 <= len(number) <= 17:
        raise ApiError(400, "Missing or invalid account number.", param="external_account[account_number]")
    routing = str(raw.get("routing_number") or "")
    return {"country": str(raw.get("country") or country).upper(), "currency": str(raw.get("currency") or currency),
            "account_number": number, "routing_number": routing or None,
            "account_holder_name": raw.get("account_holder_name")}


def _risk_control_changes(account: Record, controls: Any, api_version: str) -> dict[str, Any]:
    """`risk_controls[payouts|charges][pause_requested]`: a preview field, so only preview API versions
    know it. A paused payout or charge side is disabled until unpaused (when nothing else disables it)."""
    if controls is None:
        return {}
    if not is_preview(api_version):
        raise ApiError(400, "Received unknown parameter: risk_controls", param="risk_controls")
    if not isinstance(controls, dict):
        raise ApiError(400, "Invalid object", param="risk_controls")
    check_unknown(controls, ("payouts", "charges"))
    current = {side: {"pause_requested": False, **(account.get("risk_controls") or {}).get(side, {})}
               for side in ("charges", "payouts")}
    changes: dict[str, Any] = {}
    for side, flag in (("payouts", "payouts_enabled"), ("charges", "charges_enabled")):
        raw = controls.get(side)
        if raw is None:
            continue
        if not isinstance(raw, dict) or set(raw) != {"pause_requested"}:
            raise ApiError(400, "Invalid object", param=f"risk_controls[{side}]")
        paused = _bool(raw, "pause_requested")
        current[side] = {"pause_requested": paused}
        changes[flag] = not paused and not account["requirements"].get("disabled_reason")
    if changes:
        changes["risk_controls"] = current
    return changes


def _profile_changes(account: Record, profile: Any) -> dict[str, Any]:
    if profile is None:
        return {}
    if not isinstance(profile, dict):
        raise ApiError(400, "Invalid object", param="business_profile")
    fields = {"name": "business_name", "url": "url", "support_email": "support_email",
              "support_phone": "support_phone", "product_description": "product_description", "mcc": "mcc"}
    check_unknown(profile, tuple(fields))
    return {fields[k]: (str(v) or None) for k, v in profile.items()}


def _schedule_change(account: Record, settings: Any) -> dict[str, Any] | None:
    if settings is None:
        return None
    if not isinstance(settings, dict) or set(settings) - {"payouts"} or not isinstance(settings.get("payouts"), dict):
        name = next(iter(settings), "settings") if isinstance(settings, dict) else "settings"
        raise ApiError(400, f"Received unknown parameter: settings[{name}]", param=f"settings[{name}]")
    payouts = settings["payouts"]
    check_unknown({k: v for k, v in payouts.items()}, ("schedule", "statement_descriptor", "debit_negative_balances"))
    raw = payouts.get("schedule")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ApiError(400, "Invalid object", param="settings[payouts][schedule]")
    check_unknown(raw, ("interval", "delay_days", "weekly_anchor", "monthly_anchor"))
    schedule = dict(account["payout_schedule"])
    interval = _choice(raw, "interval", PAYOUT_INTERVALS) or schedule["interval"]
    schedule["interval"] = interval
    if "delay_days" in raw:
        if raw["delay_days"] == "minimum":
            schedule["delay_days"] = 2
        else:
            delay = _int(raw, "delay_days", 2, 365)
            schedule["delay_days"] = delay
    schedule.pop("weekly_anchor", None)
    schedule.pop("monthly_anchor", None)
    if interval == "weekly":
        schedule["weekly_anchor"] = _choice(raw, "weekly_anchor", WEEKDAYS) or \
            account["payout_schedule"].get("weekly_anchor", "monday")
    if interval == "monthly":
        schedule["monthly_anchor"] = _int(raw, "monthly_anchor", 1, 31) or \
            account["payout_schedule"].get("monthly_anchor", 1)
    for param in ("weekly_anchor", "monthly_anchor"):
        if param in raw and param not in schedule:
            raise ApiError(400, f"{param} is only valid with a {param.split('_')[0]} interval.",
                           param=f"settings[payouts][schedule][{param}]")
    return schedule


def is_preview(api_version: str) -> bool:
    """Preview API versions (`2026-10-28.preview`) carry fields that are not generally available yet."""
    return api_version.endswith(".preview")


def reject_reasons(api_version: str) -> tuple[str, ...]:
    """`reason` values of POST /v1/accounts/{id}/reject: 2026-09-30.endive split `fraud` into four and added
    `credit` (https://docs.stripe.com/changelog/endive/2026-09-30/updated-reject-reason-codes)."""
    return ledger.REJECT_REASONS if api_version[:10] < ledger.REJECT_REASONS_SPLIT else ledger.REJECT_REASONS_SINCE_SPLIT


@route("POST", "/v1/accounts/{id}/reject", ("reason", "payouts_action"))
def reject_account(state: State, call: Call) -> Any:
    account = retrieve(state, call, "accounts", call.match["id"])
    reason = _choice(call.params, "reason", reject_reasons(call.api_version), required=True)
    if "payouts_action" in call.params and call.api_version[:10] < ledger.PAYOUTS_ACTION_SINCE:
        raise ApiError(400, "Received unknown parameter: payouts_action", param="payouts_action")
    pause = _choice(call.params, "payouts_action", ("none", "pause")) != "none"
    from . import versions  # (it registers routes of its own here: imported late)

    if versions.losses_payments(account) != "application":
        raise ApiError(400, "Only accounts where your platform is liable for negative balances can be rejected "
                            "(not Standard accounts, nor Express accounts whose losses Stripe bears).", param="account")
    if str(account["requirements"].get("disabled_reason") or "").startswith("rejected."):
        raise ApiError(400, f"Account {account['id']} has already been rejected.", param="account")
    versions.mark_platform_rejection(account)
    ledger.reject_account(state, call.now, account, str(reason), call.request, pause_payouts=pause)
    return objects.render(state, account)


@route("POST", "/v1/accounts/{id}/login_links", ())
def create_login_link(state: State, call: Call) -> Any:
    account = retrieve(state, call, "accounts", call.match["id"])
    if account["type"] != "express":
        raise ApiError(400, "Cannot create a login link for an account that is not an Express account.",
                       param="account")
    token = state.new_id("ll")[3:15]
    return {"object": "login_link", "created": call.now,
            "url": f"{objects.DASHBOARD}/express/{account['id']}/{token}"}


@route("POST", "/v1/account_links", ("account", "type", "refresh_url", "return_url", "collect",
                                     "collection_options"))
def create_account_link(state: State, call: Call) -> Any:
    params = call.params
    account_id = _required(params, "account")
    account = state.get(account_id, PLATFORM, "accounts")
    if account is None:
        raise missing("accounts", account_id, param="account")
    kind = _choice(params, "type", ("account_onboarding", "account_update"), required=True)
    for name in ("refresh_url", "return_url"):
        if params.get(name) and not re.match(r"^https?://", str(params[name])):
            raise ApiError(400, f"Not a valid URL: {params[name]}", param=name)
    if kind == "account_update" and account["type"] == "standard":
        raise ApiError(400, "You cannot create `account_update` type Account Links for Standard accounts.",
                       param="type")
    token = state.new_id("al")[3:15]
    return {"object": "account_link", "created": call.now, "expires_at": call.now + 300,
            "url": f"{objects.DASHBOARD}/setup/{'s' if kind == 'account_onboarding' else 'e'}/{account_id}/{token}"}


@route("POST", "/v1/payouts/{id}/cancel", ())
def cancel_payout(state: State, call: Call) -> Any:
    payout = retrieve(state, call, "payouts", call.match["id"])
    if payout["status"] != "pending":
        raise ApiError(400, f"Payouts can only be canceled while they are pending; this payout is {payout['status']}.",
                       param="payout")
    ledger.cancel_payout(state, call.now, payout, call.request)
    return objects.render(state, payout)


@route("POST", "/v1/transfers/{id}/reversals", ("amount", "description", "metadata", "refund_application_fee"))
def create_reversal(state: State, call: Call) -> Any:
    transfer = retrieve(state, call, "transfers", call.match["id"])
    left = transfer["amount"] - transfer["amount_reversed"]
    if left <= 0:
        raise ApiError(400, f"Transfer {transfer['id']} has already been fully reversed.", param="amount")
    amount = _int(call.params, "amount", 1, default=left) or left
    if amount > left:
        raise ApiError(400, f"Reversal amount ({amount}) is greater than the amount left on the transfer ({left}).",
                       param="amount")
    rec = ledger.reverse(state, call.now, transfer, amount, metadata=_metadata(call.params), request=call.request)
    if _bool(call.params, "refund_application_fee"):
        charge = state.records.get(transfer.get("source_transaction") or "")
        fee = state.records.get((charge or {}).get("application_fee") or "")
        if fee is not None and charge is not None:
            share = min(fee["amount"] - fee["amount_refunded"], round(fee["amount"] * amount / transfer["amount"]))
            if share > 0:
                ledger.refund_fee(state, call.now, fee, share, call.request)
    return objects.render(state, rec)


@route("POST", "/v1/transfers", ("amount", "currency", "destination", "source_transaction", "transfer_group",
                                 "description", "metadata"))
def create_transfer(state: State, call: Call) -> Any:
    """Separate charges and transfers: the platform sends part of a charge (`source_transaction`) or of its
    available balance to a connected account, which gets a `py_` payment."""
    params = call.params
    if call.scope is not PLATFORM:
        raise ApiError(400, "Transfers from a connected account (account debits) are not supported by the emulator.")
    amount = _int(params, "amount", 1)
    if amount is None:
        raise ApiError(400, "Missing required param: amount.", param="amount")
    currency = str(_choice(params, "currency", tuple(ledger.USD_PER_UNIT), required=True))
    account = state.get(_required(params, "destination"), PLATFORM, "accounts")
    if account is None or account.get("_deauthorized"):
        raise ApiError(400, f"No such destination: '{params['destination']}'", code="resource_missing",
                       param="destination")
    charge = _transfer_source(state, params, amount, currency)
    if charge is None:
        available = next((b["amount"] for b in objects.balance(state, PLATFORM)["available"]
                          if b["currency"] == currency), 0)
        if amount > available:
            raise ApiError(400, f"Insufficient available {currency} balance for this transfer ({available}); "
                                "pass source_transaction to transfer from a charge.", code="balance_insufficient",
                           param="amount")
    rec = ledger.create_transfer(state, call.now, account, amount, currency, source_charge=charge,
                                 transfer_group=params.get("transfer_group"), request=call.request)
    rec.update({k: v for k, v in (("description", params.get("description")), ("metadata", _metadata(params)))
                if v is not None})
    return objects.render(state, rec)


def _transfer_source(state: State, params: dict[str, Any], amount: int, currency: str) -> Record | None:
    """The platform charge a transfer draws on: succeeded, same currency, not already transferred in full."""
    charge_id = params.get("source_transaction")
    if not charge_id:
        return None
    charge = state.get(str(charge_id), PLATFORM, "charges")
    if charge is None:
        raise missing("charges", str(charge_id), param="source_transaction")
    # In the charge's currency, or in the currency it settled in on the platform's balance (a charge in EUR on
    # a USD platform funds USD transfers: https://docs.stripe.com/connect/currencies).
    settled = state.records.get(charge.get("balance_transaction") or "")
    total = {charge["currency"]: charge.get("amount_captured", charge["amount"])}
    if settled is not None:
        total.setdefault(settled["currency"], settled["amount"])
    if charge["status"] != "succeeded" or currency not in total or not charge.get("captured", True):
        raise ApiError(400, f"The source_transaction {charge['id']} must be a succeeded, captured charge in "
                            f"{' or '.join(sorted(total))}.", param="source_transaction")
    sent = sum(state.records[i]["amount"] for i in state.collection(PLATFORM, "transfers").ids
               if state.records[i].get("source_transaction") == charge["id"] and state.records[i]["currency"] == currency)
    if sent + amount > total[currency]:
        raise ApiError(400, f"Transfers from {charge['id']} would exceed its amount ({total[currency]} {currency}).",
                       param="amount")
    return charge


@route("POST", "/v1/payouts", ("amount", "currency", "description", "destination", "metadata", "method",
                               "statement_descriptor", "source_type"))
def create_payout(state: State, call: Call) -> Any:
    """A manual payout of available funds, created pending as on Stripe."""
    params = call.params
    amount = _int(params, "amount", 1)
    if amount is None:
        raise ApiError(400, "Missing required param: amount.", param="amount")
    currency = _choice(params, "currency", tuple(ledger.USD_PER_UNIT), required=True)
    scoped = state.records.get(call.scope or "") if call.scope else None
    if scoped is not None and ((scoped.get("risk_controls") or {}).get("payouts") or {}).get("pause_requested"):
        raise ApiError(400, "Payouts are paused for this account by its platform (risk_controls).",
                       code="payouts_not_allowed")
    available = next((b["amount"] for b in objects.balance(state, call.scope)["available"]
                      if b["currency"] == currency), 0)
    if amount > available:
        raise ApiError(400, "You have insufficient funds in your Stripe account for this transfer. Your card "
                            f"balance is too low. You can use the /v1/balance endpoint to view your Stripe balance "
                            f"(available {available} {currency}).", code="balance_insufficient", param="amount")
    account = state.records.get(call.scope or "") if call.scope else None
    destination = params.get("destination") or (account["external_accounts"][0]["id"] if account else "ba_platform_demo")
    rec = ledger.create_payout(state, call.now, call.scope, amount, str(currency), str(destination), "pending",
                               request=call.request)
    if params.get("description"):
        rec["description"] = str(params["description"])
    metadata = _metadata(params)
    if metadata:
        rec["metadata"] = metadata
    return objects.render(state, rec)
