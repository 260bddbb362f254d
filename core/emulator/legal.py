"""Updating a connected account's legal entity through POST /v1/accounts/{id}: the company's or the person's address.

Stripe lets a platform update `company[address]` and `individual[address]` of the accounts it manages (Stripe
Docs, 'Update verified information', docs.stripe.com/connect/update-verified-information); a payee who moves is
how a filed 1099 ends up needing a correction. Only the address is modelled here.
"""
from __future__ import annotations

from typing import Any

from .api import ApiError
from .state import Record

ADDRESS_FIELDS = ("line1", "line2", "city", "state", "postal_code", "country")


def legal_changes(account: Record, params: dict[str, Any]) -> dict[str, Any]:
    """The account record's new `legal` when the call changes the company's or the person's address."""
    key = "individual" if account.get("business_type") == "individual" else "company"
    other = "company" if key == "individual" else "individual"
    if other in params:
        raise ApiError(400, f"You cannot provide {other} details for an account whose business_type is "
                            f"{account.get('business_type') or 'company'}.", param=other)
    entity = params.get(key)
    if entity is None:
        return {}
    if not isinstance(entity, dict) or set(entity) - {"address"} or not isinstance(entity.get("address"), dict):
        name = next(iter(entity), "address") if isinstance(entity, dict) else key
        raise ApiError(400, f"Received unknown parameter: {key}[{name}]", param=f"{key}[{name}]")
    address = entity["address"]
    unknown = set(address) - set(ADDRESS_FIELDS)
    if unknown:
        name = sorted(unknown)[0]
        raise ApiError(400, f"Received unknown parameter: {key}[address][{name}]", param=f"{key}[address][{name}]")
    legal = dict(account.get("legal", {}))
    legal["address"] = {**legal.get("address", {}), **{k: (str(v) or None) for k, v in address.items()}}
    return {"legal": legal}
