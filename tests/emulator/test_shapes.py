"""Every object the emulator serves has the top-level keys and value types of Stripe's own fixture."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "stripe" / "fixtures3.json"
RESOURCE_FIXTURE = {
    "accounts": "account", "charges": "charge", "transfers": "transfer", "payouts": "payout",
    "application_fees": "application_fee", "refunds": "refund", "disputes": "dispute",
    "balance_transactions": "balance_transaction", "events": "event",
}
# Keys Stripe sends beyond this one example object: documented optional fields in the OpenAPI spec,
# plus the "new" fields the demo seed adds on purpose so the sync proves it survives unknown fields.
OPTIONAL = {
    "account": {"company", "individual", "groups"},
    "charge": {"transfer", "presentment_details"},
    "event": {"account"},
}


def _fixtures() -> dict[str, Any]:
    return json.loads(FIXTURES.read_text())["resources"]


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def _dump(emulator: Any, resource: str) -> list[dict[str, Any]]:
    response = requests.get(f"{emulator.base_url}/_emulator/dump", params={"resource": resource},
                            headers={"Authorization": f"Bearer {emulator.api_key}"}, timeout=60)
    response.raise_for_status()
    return [row["object"] for row in response.json()["data"]]


def _mismatches(ours: dict[str, Any], theirs: dict[str, Any], optional: set[str]) -> list[str]:
    problems = [f"missing {k}" for k in theirs if k not in ours]
    problems += [f"unexpected {k}" for k in ours if k not in theirs and k not in optional]
    for key, value in theirs.items():
        if key in ours and value is not None and ours[key] is not None and _kind(ours[key]) != _kind(value):
            problems.append(f"{key}: {_kind(ours[key])} where Stripe has {_kind(value)}")
    return problems


@pytest.mark.parametrize("resource", sorted(RESOURCE_FIXTURE))
def test_objects_match_stripe_fixture(emulator: Any, resource: str) -> None:
    fixture_name = RESOURCE_FIXTURE[resource]
    fixture = _fixtures()[fixture_name]
    objects = _dump(emulator, resource)
    assert objects, f"the demo has no {resource}"
    problems: dict[str, list[str]] = {}
    for obj in objects:
        found = _mismatches(obj, fixture, OPTIONAL.get(fixture_name, set()))
        if found:
            problems.setdefault(obj["id"], found)
    assert not problems, dict(list(problems.items())[:5])
    assert {obj["object"] for obj in objects} == {fixture["object"]}


def test_nested_objects_match_their_fixtures(emulator: Any) -> None:
    """Objects inside objects (bank accounts, reversals, fee refunds, balance) keep Stripe's shape too."""
    fixtures = _fixtures()
    banks = [b for a in _dump(emulator, "accounts") for b in a["external_accounts"]["data"]]
    assert not _mismatches(banks[0], fixtures["bank_account"], {"account", "default_for_currency",
                                                                "available_payout_methods"})
    reversals = [r for t in _dump(emulator, "transfers") for r in t["reversals"]["data"]]
    assert reversals and not _mismatches(reversals[0], fixtures["transfer_reversal"], set())
    fee_refunds = [r for f in _dump(emulator, "application_fees") for r in f["refunds"]["data"]]
    assert fee_refunds and not _mismatches(fee_refunds[0], fixtures["fee_refund"], set())
    balance = requests.get(f"{emulator.base_url}/v1/balance", timeout=10,
                           headers={"Authorization": f"Bearer {emulator.api_key}"}).json()
    assert not _mismatches(balance, fixtures["balance"], set())


def test_demo_covers_the_platform_people_use(emulator: Any) -> None:
    """The seed has what support, risk and finance need to practise on."""
    accounts = _dump(emulator, "accounts")
    assert {a["type"] for a in accounts} == {"express", "custom", "standard"}
    assert {a["country"] for a in accounts} >= {"US", "GB", "FR", "DE", "CA", "JP"}
    assert any(a["requirements"]["past_due"] for a in accounts)
    assert any(str(a["requirements"]["disabled_reason"]).startswith("rejected.") for a in accounts)
    assert any("'" in (a["business_profile"]["name"] or "") for a in accounts)
    assert any(any(ord(ch) > 127 for ch in a["business_profile"]["name"] or "") for a in accounts)
    assert any("'" in a["email"] for a in accounts) and any(any(ord(ch) > 127 for ch in a["email"]) for a in accounts)
    fingerprints = [a["external_accounts"]["data"][0]["fingerprint"] for a in accounts]
    assert len(fingerprints) > len(set(fingerprints)), "some accounts should share a bank account"
    charges = _dump(emulator, "charges")
    assert {c["status"] for c in charges} >= {"succeeded", "failed"}
    assert any(c["id"].startswith("py_") and c["source_transfer"] for c in charges)
    assert any(c["currency"] == "jpy" for c in charges)
    assert any(c["outcome"] and c["outcome"]["risk_level"] == "elevated" for c in charges)
    assert any("presentment_details" in c for c in charges), "some objects carry a field our code does not know"
    active = {c["transfer_data"]["destination"] for c in charges if c["transfer_data"]}
    assert len(active) < len(accounts), "at least one account has no activity"
    txns = _dump(emulator, "balance_transactions")
    assert any(t["exchange_rate"] for t in txns), "cross-currency charges carry an exchange rate"
    assert {t["type"] for t in txns} >= {"charge", "payment", "transfer", "application_fee", "refund", "payout"}
    payouts = _dump(emulator, "payouts")
    assert any(p["status"] == "failed" and p["failure_code"] for p in payouts)
