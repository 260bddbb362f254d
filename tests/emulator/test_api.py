"""Behaviour of the Stripe emulator as the real `stripe` SDK sees it over HTTP (issue 2, "Done means").

Read-only tests share the session `client`; every test that writes gets a fresh emulator process.
Emulator-only controls (/_emulator/...) are reached with plain `requests`.
"""
from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import requests
import stripe

from core.emulator.launcher import EmulatorProcess, start_emulator
from tests.conftest import SMALL, client_for

# --- helpers ----------------------------------------------------------------------------------


def _control(process: EmulatorProcess, method: str, path: str, **params: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {process.api_key}"}
    if method == "GET":
        return requests.get(process.base_url + path, params=params, headers=headers, timeout=30)
    return requests.post(process.base_url + path, data=params, headers=headers, timeout=30)


def dump(process: EmulatorProcess, resource: str) -> list[dict[str, Any]]:
    """[{"account": scope or None, "object": {...}}, ...] for every object of a resource."""
    response = _control(process, "GET", "/_emulator/dump", resource=resource)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def stats(process: EmulatorProcess) -> dict[str, Any]:
    response = _control(process, "GET", "/_emulator/stats")
    assert response.status_code == 200, response.text
    return response.json()


def accounts_by_type(process: EmulatorProcess, kind: str) -> list[dict[str, Any]]:
    return [row["object"] for row in dump(process, "accounts") if row["object"]["type"] == kind]


def destination_charge(process: EmulatorProcess) -> dict[str, Any]:
    """An untouched succeeded platform charge with a transfer and an application fee."""
    for row in dump(process, "charges"):
        charge = row["object"]
        if (row["account"] is None and charge["status"] == "succeeded" and charge.get("transfer")
                and charge["application_fee"] and charge["amount_refunded"] == 0 and not charge["disputed"]
                and charge["amount"] >= 1000):
            return charge
    raise AssertionError("the seed has no destination charge with a fee")


def direct_charge(process: EmulatorProcess) -> tuple[str, dict[str, Any]]:
    """(standard account id, an untouched succeeded direct charge in its scope)."""
    standard = {a["id"] for a in accounts_by_type(process, "standard")}
    for row in dump(process, "charges"):
        charge = row["object"]
        if (row["account"] in standard and charge["id"].startswith("ch_") and charge["status"] == "succeeded"
                and charge["amount_refunded"] == 0 and not charge["disputed"]):
            return row["account"], charge
    raise AssertionError("the seed has no direct charge")


def events_since(client: stripe.StripeClient, since: int, account: str | None = None) -> list[Any]:
    options = {"stripe_account": account} if account else {}
    return list(client.v1.events.list(params={"limit": 100, "created": {"gte": since}},
                                      options=options).auto_paging_iter())


def key() -> str:
    return f"test-{uuid.uuid4()}"


# --- 1. pagination ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def platform_charge_ids(emulator: EmulatorProcess) -> list[str]:
    rows = [r["object"] for r in dump(emulator, "charges") if r["account"] is None]
    return [c["id"] for c in rows]


def test_auto_paging_yields_every_platform_charge_once_newest_first(client: stripe.StripeClient,
                                                                    platform_charge_ids: list[str]) -> None:
    charges = list(client.v1.charges.list(params={"limit": 100}).auto_paging_iter())
    ids = [c.id for c in charges]
    assert len(ids) == len(set(ids)) == len(platform_charge_ids) > 100
    assert set(ids) == set(platform_charge_ids)
    created = [c.created for c in charges]
    assert created == sorted(created, reverse=True)
    assert not any(i.startswith("py_") for i in ids)


def test_manual_paging_with_starting_after_and_ending_before(client: stripe.StripeClient,
                                                             platform_charge_ids: list[str]) -> None:
    pages = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = client.v1.charges.list(params=params)
        pages.append(page)
        if not page.has_more:
            break
        assert len(page.data) == 100
        params = {"limit": 100, "starting_after": page.data[-1].id}
    assert len(pages) > 2
    ids = [c.id for p in pages for c in p.data]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(platform_charge_ids)
    assert pages[-1].has_more is False and 0 < len(pages[-1].data) <= 100
    assert all(p.has_more for p in pages[:-1])

    # ending_before the first object of page 2 gives back page 1, in the same newest-first order.
    previous = client.v1.charges.list(params={"limit": 100, "ending_before": pages[1].data[0].id})
    assert [c.id for c in previous.data] == [c.id for c in pages[0].data]
    assert previous.has_more is False  # nothing newer than the newest page
    # ... and from page 3 it gives page 2, with more (page 1) beyond it.
    previous = client.v1.charges.list(params={"limit": 100, "ending_before": pages[2].data[0].id})
    assert [c.id for c in previous.data] == [c.id for c in pages[1].data]
    assert previous.has_more is True


def test_small_limit_pages_and_last_page_has_more_false(client: stripe.StripeClient,
                                                        platform_charge_ids: list[str]) -> None:
    oldest_three = client.v1.charges.list(params={"limit": 100, "created": {"lte": 0}})
    assert oldest_three.data == [] and oldest_three.has_more is False
    page = client.v1.charges.list(params={"limit": 3})
    assert len(page.data) == 3 and page.has_more is True
    # The 3 oldest charges: starting after the 4th oldest gives exactly them and has_more False.
    oldest_first = platform_charge_ids  # the dump lists a scope's objects oldest first
    tail = client.v1.charges.list(params={"limit": 3, "starting_after": oldest_first[3]})
    assert [c.id for c in tail.data] == oldest_first[2::-1]
    assert tail.has_more is False


# --- 2. created filters and bad parameters ----------------------------------------------------


@pytest.mark.parametrize("resource", ["charges", "events"])
def test_created_filters(client: stripe.StripeClient, emulator: EmulatorProcess, resource: str) -> None:
    rows = [r["object"] for r in dump(emulator, resource) if r["account"] is None]
    stamps = sorted({r["created"] for r in rows})
    low, high = stamps[len(stamps) // 3], stamps[len(stamps) // 3 + 60]
    service = getattr(client.v1, resource)
    cases = {
        "gt": lambda c: c > low, "gte": lambda c: c >= low,
        "lt": lambda c: c < high, "lte": lambda c: c <= high,
    }
    for op, keep in cases.items():
        bound = low if op.startswith("g") else high
        other = {"lte": high} if op.startswith("g") else {"gte": low}
        got = [o.id for o in service.list(params={"limit": 100, "created": {op: bound, **other}}).auto_paging_iter()]
        inner = (lambda c: c <= high) if op.startswith("g") else (lambda c: c >= low)
        want = {r["id"] for r in rows if keep(r["created"]) and inner(r["created"])}
        assert len(got) == len(set(got))
        assert set(got) == want, op
        assert want, op
    # gt excludes the boundary, gte includes it
    gte = {o.id for o in service.list(params={"limit": 100, "created": {"gte": low, "lte": low}}).auto_paging_iter()}
    gt = {o.id for o in service.list(params={"limit": 100, "created": {"gt": low, "lte": low}}).auto_paging_iter()}
    assert gte and gt == set()


def test_events_type_filter(client: stripe.StripeClient) -> None:
    page = client.v1.events.list(params={"limit": 50, "type": "charge.refunded"})
    assert page.data and {e.type for e in page.data} == {"charge.refunded"}
    page = client.v1.events.list(params={"limit": 50, "types": ["payout.paid", "transfer.created"]})
    assert page.data and {e.type for e in page.data} <= {"payout.paid", "transfer.created"}


@pytest.mark.parametrize("limit", [0, 101, "abc", -1])
def test_limit_out_of_range(client: stripe.StripeClient, limit: Any) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.list(params={"limit": limit})
    assert caught.value.http_status == 400
    assert caught.value.param == "limit"


def test_unknown_list_parameter_is_named(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.list(params={"limit": 5, "colour": "red"})  # type: ignore[typeddict-unknown-key]
    assert caught.value.http_status == 400 and caught.value.param == "colour"
    assert "colour" in str(caught.value.user_message)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.events.list(params={"created": {"after": 5}})  # type: ignore[typeddict-item]
    assert caught.value.param == "created[after]"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.list(params={"created": {"gt": "yesterday"}})  # type: ignore[typeddict-item]
    assert caught.value.param == "created[gt]"


@pytest.mark.parametrize("cursor", ["starting_after", "ending_before"])
def test_unknown_cursor(client: stripe.StripeClient, cursor: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.list(params={cursor: "ch_doesnotexist"})  # type: ignore[misc]
    assert caught.value.param == cursor
    assert caught.value.code == "resource_missing"


def test_cursor_from_another_scope_is_unknown(client: stripe.StripeClient, emulator: EmulatorProcess) -> None:
    account, charge = direct_charge(emulator)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.list(params={"starting_after": charge["id"]})
    assert caught.value.param == "starting_after"


# --- 3. Stripe-Account scoping ----------------------------------------------------------------


def test_direct_charge_only_in_its_account_scope(client: stripe.StripeClient, emulator: EmulatorProcess) -> None:
    account, charge = direct_charge(emulator)
    scoped = {"stripe_account": account}
    listed = list(client.v1.charges.list(params={"limit": 100}, options=scoped).auto_paging_iter())
    assert charge["id"] in {c.id for c in listed}
    assert client.v1.charges.retrieve(charge["id"], options=scoped).amount == charge["amount"]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.retrieve(charge["id"])
    assert caught.value.http_status == 404 and caught.value.code == "resource_missing"


def test_platform_charge_not_in_account_scope(client: stripe.StripeClient, emulator: EmulatorProcess) -> None:
    charge = destination_charge(emulator)
    destination = charge["transfer_data"]["destination"]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.retrieve(charge["id"], options={"stripe_account": destination})
    assert caught.value.http_status == 404 and caught.value.code == "resource_missing"
    transfer = client.v1.transfers.retrieve(charge["transfer"])
    # the transfer's py_ payment exists only on the connected account
    payment = client.v1.charges.retrieve(transfer.destination_payment, options={"stripe_account": destination})
    assert payment.id.startswith("py_") and payment.amount == transfer.amount
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.charges.retrieve(transfer.destination_payment)


def test_py_payments_listed_only_in_account_scope(client: stripe.StripeClient, emulator: EmulatorProcess) -> None:
    express = [r for r in dump(emulator, "charges") if r["object"]["id"].startswith("py_")]
    assert express
    account = express[0]["account"]
    scoped = list(client.v1.charges.list(params={"limit": 100},
                                         options={"stripe_account": account}).auto_paging_iter())
    want = {r["object"]["id"] for r in express if r["account"] == account}
    assert want <= {c.id for c in scoped}
    assert all(c.id.startswith("py_") for c in scoped)  # express accounts have only transfers' payments
    first_platform_page = client.v1.charges.list(params={"limit": 100})
    assert not any(c.id.startswith("py_") for c in first_platform_page.data)


def test_account_scope_events_carry_account(client: stripe.StripeClient, emulator: EmulatorProcess) -> None:
    scoped_rows = [r for r in dump(emulator, "events") if r["account"] is not None]
    assert scoped_rows
    account = scoped_rows[0]["account"]
    events = client.v1.events.list(params={"limit": 100}, options={"stripe_account": account})
    assert events.data
    assert {e.account for e in events.data} == {account}
    platform = client.v1.events.list(params={"limit": 100})
    assert all(getattr(e, "account", None) is None for e in platform.data)
    assert not {e.id for e in events.data} & {e.id for e in platform.data}


def test_account_scope_balance_transactions_and_payouts(client: stripe.StripeClient,
                                                        emulator: EmulatorProcess) -> None:
    payouts = [r for r in dump(emulator, "payouts") if r["account"] is not None]
    account = payouts[0]["account"]
    payout_id = payouts[0]["object"]["id"]
    assert client.v1.payouts.retrieve(payout_id, options={"stripe_account": account}).id == payout_id
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payouts.retrieve(payout_id)
    txn = payouts[0]["object"]["balance_transaction"]
    assert client.v1.balance_transactions.retrieve(txn, options={"stripe_account": account}).source == payout_id
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.balance_transactions.retrieve(txn)


def test_unknown_stripe_account_is_refused(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.StripeError) as caught:
        client.v1.charges.list(options={"stripe_account": "acct_1DoesNotExist00"})
    assert caught.value.http_status == 403
    # the SDK leaves .code unset on a PermissionError; the wire body carries it
    assert caught.value.json_body["error"]["code"] == "account_invalid"
    assert "acct_1DoesNotExist00" in str(caught.value.user_message)
    # A non-account id is no account either.
    with pytest.raises(stripe.StripeError) as caught:
        client.v1.balance.retrieve(options={"stripe_account": "ch_nope"})
    assert caught.value.http_status == 403


# --- 4. 401 and 404 ---------------------------------------------------------------------------


def test_wrong_key_is_401(emulator: EmulatorProcess) -> None:
    bad = client_for(emulator, api_key="sk_test_wrongwrongwrong")
    with pytest.raises(stripe.AuthenticationError) as caught:
        bad.v1.charges.list()
    assert caught.value.http_status == 401
    assert "sk_test_" in str(caught.value.user_message) and "wrongwrongwrong" not in str(caught.value.user_message)


def test_missing_key_is_401(emulator: EmulatorProcess) -> None:
    response = requests.get(emulator.base_url + "/v1/charges", timeout=10)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "API key" in response.json()["error"]["message"]
    # The emulator-only endpoints need the key as well.
    assert requests.get(emulator.base_url + "/_emulator/stats", timeout=10).status_code == 401


@pytest.mark.parametrize("service,object_id", [
    ("charges", "ch_nope"), ("transfers", "tr_nope"), ("payouts", "po_nope"), ("application_fees", "fee_nope"),
    ("refunds", "re_nope"), ("disputes", "dp_nope"), ("balance_transactions", "txn_nope"), ("events", "evt_nope"),
    ("accounts", "acct_1Nope000000000"),
])
def test_unknown_id_is_404(client: stripe.StripeClient, service: str, object_id: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        getattr(client.v1, service).retrieve(object_id)
    assert caught.value.http_status == 404
    assert caught.value.code == "resource_missing"
    assert object_id in str(caught.value.user_message)


def test_id_of_another_resource_is_404(client: stripe.StripeClient, emulator: EmulatorProcess) -> None:
    charge = destination_charge(emulator)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.transfers.retrieve(charge["id"])
    assert caught.value.http_status == 404


# --- 5. 429 and 500 ---------------------------------------------------------------------------


def test_rate_limit_429() -> None:
    with start_emulator(*SMALL, "--per-endpoint-rps", "2", "--global-rps", "5") as process:
        client = client_for(process, retries=0)
        limited = 0
        ok = 0
        for _ in range(12):
            try:
                client.v1.charges.list(params={"limit": 1})
                ok += 1
            except stripe.RateLimitError as exc:
                assert exc.http_status == 429
                assert exc.json_body["error"]["code"] == "rate_limit"  # the SDK leaves .code unset here
                limited += 1
        assert ok >= 1 and limited >= 5
        counted = stats(process)
        assert counted["rate_limited"] == limited
        assert counted["by_endpoint"].get("GET /v1/charges") == ok
        # Another endpoint has its own bucket (but shares the global one, so wait for it to refill).
        time.sleep(1.2)
        client.v1.transfers.list(params={"limit": 1})
        # The bucket refills: after a pause the same endpoint answers again.
        time.sleep(1.2)
        assert len(client.v1.charges.list(params={"limit": 1}).data) == 1


def test_injected_500_and_retries() -> None:
    with start_emulator(*SMALL, "--error-rate", "0.5") as process:
        headers = {"Authorization": f"Bearer {process.api_key}"}
        responses = [requests.get(process.base_url + "/v1/balance", headers=headers, timeout=10) for _ in range(20)]
        failed = [r for r in responses if r.status_code == 500]
        assert failed and len(failed) < 20
        for r in failed:
            assert r.headers.get("Stripe-Should-Retry") == "true"
            assert r.json()["error"]["type"] == "api_error"
        no_retry = client_for(process, retries=0)
        errors = 0
        for _ in range(20):
            try:
                no_retry.v1.balance.retrieve()
            except stripe.APIError as exc:
                assert exc.http_status == 500
                errors += 1
        assert errors >= 1
        injected_before = stats(process)["errors_injected"]
        assert injected_before == len(failed) + errors

        retrying = client_for(process, retries=5)
        successes = 0
        for _ in range(4):
            try:
                retrying.v1.balance.retrieve()
                successes += 1
            except stripe.APIError:
                pass
        assert successes >= 3
        assert stats(process)["errors_injected"] > injected_before  # some of those calls were retried


# --- 6. writes and their events ---------------------------------------------------------------


def test_refund_partial_then_full_with_fee_and_transfer(fresh_emulator: EmulatorProcess,
                                                        fresh_client: stripe.StripeClient) -> None:
    client = fresh_client
    charge = destination_charge(fresh_emulator)
    fee_id, transfer_id = charge["application_fee"], charge["transfer"]
    destination = charge["transfer_data"]["destination"]
    fee0 = client.v1.application_fees.retrieve(fee_id)
    transfer0 = client.v1.transfers.retrieve(transfer_id)
    since = int(time.time())
    partial = charge["amount"] // 3

    refund = client.v1.refunds.create(params={"charge": charge["id"], "amount": partial, "reason": "requested_by_customer",
                                              "refund_application_fee": True, "reverse_transfer": True},
                                      options={"idempotency_key": key()})
    assert refund.id.startswith("re_") and refund.amount == partial and refund.status == "succeeded"
    assert refund.charge == charge["id"]
    after = client.v1.charges.retrieve(charge["id"])
    assert after.amount_refunded == partial and after.refunded is False
    assert refund.id in {r.id for r in after.refunds.data}
    fee1 = client.v1.application_fees.retrieve(fee_id)
    assert 0 < fee1.amount_refunded < fee0.amount
    assert fee1.refunded is False
    transfer1 = client.v1.transfers.retrieve(transfer_id)
    assert 0 < transfer1.amount_reversed < transfer0.amount
    assert transfer1.reversed is False

    full = client.v1.refunds.create(params={"charge": charge["id"], "refund_application_fee": True,
                                            "reverse_transfer": True})
    assert full.amount == charge["amount"] - partial
    after = client.v1.charges.retrieve(charge["id"])
    assert after.amount_refunded == charge["amount"] and after.refunded is True
    fee2 = client.v1.application_fees.retrieve(fee_id)
    assert fee2.amount_refunded == fee0.amount and fee2.refunded is True
    transfer2 = client.v1.transfers.retrieve(transfer_id)
    assert transfer2.amount_reversed == transfer0.amount and transfer2.reversed is True
    reversals = client.v1.transfers.reversals.list(transfer_id)
    assert len(reversals.data) == 2 and sum(r.amount for r in reversals.data) == transfer0.amount

    # new balance transactions on the platform, and the payment refund on the connected account
    txns = [t for t in client.v1.balance_transactions.list(params={"limit": 100, "created": {"gte": since}})
            .auto_paging_iter()]
    by_type: dict[str, list[Any]] = {}
    for t in txns:
        by_type.setdefault(t.type, []).append(t)
    assert sum(-t.amount for t in by_type["refund"]) == charge["amount"]
    assert {t.source for t in by_type["refund"]} == {refund.id, full.id}
    assert sum(-t.amount for t in by_type["application_fee_refund"]) == fee0.amount
    assert sum(t.amount for t in by_type["transfer_refund"]) == transfer0.amount
    scoped_txns = client.v1.balance_transactions.list(params={"limit": 100, "type": "payment_refund",
                                                              "created": {"gte": since}},
                                                      options={"stripe_account": destination})
    assert len(scoped_txns.data) == 2

    events = events_since(client, since)
    types = [e.type for e in events]
    assert types.count("charge.refunded") == 2
    assert types.count("refund.created") == 2
    assert types.count("transfer.reversed") == 2
    assert types.count("application_fee.refunded") == 2
    refunded = [e for e in events if e.type == "charge.refunded"]
    newest = max(refunded, key=lambda e: (e.created, e.data.object.amount_refunded))
    assert newest.data.object.id == charge["id"] and newest.data.object.amount_refunded == charge["amount"]
    assert newest.data.previous_attributes.amount_refunded == partial
    created_ids = {e.data.object.id for e in events if e.type == "refund.created"}
    assert created_ids == {refund.id, full.id}

    # nothing left to refund
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"charge": charge["id"], "amount": 1})
    assert caught.value.code == "charge_already_refunded"


def test_refund_more_than_refundable(fresh_emulator: EmulatorProcess, fresh_client: stripe.StripeClient) -> None:
    charge = destination_charge(fresh_emulator)
    fresh_client.v1.refunds.create(params={"charge": charge["id"], "amount": 100})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        fresh_client.v1.refunds.create(params={"charge": charge["id"], "amount": charge["amount"] - 99})
    assert caught.value.param == "amount"
    assert fresh_client.v1.charges.retrieve(charge["id"]).amount_refunded == 100
    with pytest.raises(stripe.InvalidRequestError) as caught:
        fresh_client.v1.refunds.create(params={"charge": "ch_nope"})
    assert caught.value.param == "charge" and caught.value.http_status == 404


def test_direct_charge_refund_in_account_scope(fresh_emulator: EmulatorProcess,
                                               fresh_client: stripe.StripeClient) -> None:
    client = fresh_client
    account, charge = direct_charge(fresh_emulator)
    scoped = {"stripe_account": account}
    since = int(time.time())
    with pytest.raises(stripe.InvalidRequestError):  # not visible from the platform
        client.v1.refunds.create(params={"charge": charge["id"], "amount": 100})
    refund = client.v1.refunds.create(params={"charge": charge["id"], "amount": 100}, options=scoped)
    assert client.v1.refunds.retrieve(refund.id, options=scoped).amount == 100
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.retrieve(refund.id)
    assert caught.value.http_status == 404
    assert client.v1.charges.retrieve(charge["id"], options=scoped).amount_refunded == 100
    events = events_since(client, since, account)
    assert {"charge.refunded", "refund.created"} <= {e.type for e in events}
    assert all(e.account == account for e in events)
    assert not [e for e in events_since(client, since) if e.type == "refund.created"]
    txns = client.v1.balance_transactions.list(params={"type": "refund", "created": {"gte": since}}, options=scoped)
    assert [t.source for t in txns.data] == [refund.id]


def test_update_account_payout_schedule_and_metadata(fresh_emulator: EmulatorProcess,
                                                     fresh_client: stripe.StripeClient) -> None:
    client = fresh_client
    account = accounts_by_type(fresh_emulator, "express")[0]
    since = int(time.time())
    updated = client.v1.accounts.update(account["id"], params={
        "settings": {"payouts": {"schedule": {"interval": "weekly", "weekly_anchor": "friday"}}},
        "metadata": {"risk_note": "checked by ops", "platform_user_id": ""},
    })
    assert updated.settings.payouts.schedule.interval == "weekly"
    assert updated.settings.payouts.schedule.weekly_anchor == "friday"
    assert updated.metadata["risk_note"] == "checked by ops"
    assert "platform_user_id" not in updated.metadata  # "" unsets a key, as on Stripe
    assert updated.metadata["signup_channel"] == account["metadata"]["signup_channel"]
    again = client.v1.accounts.retrieve(account["id"])
    assert again.settings.payouts.schedule.weekly_anchor == "friday"
    events = [e for e in events_since(client, since, account["id"]) if e.type == "account.updated"]
    assert len(events) == 1 and events[0].account == account["id"]
    assert events[0].data.object.settings.payouts.schedule.weekly_anchor == "friday"

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.accounts.update(account["id"], params={
            "settings": {"payouts": {"schedule": {"interval": "fortnightly"}}}})  # type: ignore[typeddict-item]
    assert caught.value.param == "settings[payouts][schedule][interval]"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.accounts.update(account["id"], params={
            "settings": {"payouts": {"schedule": {"interval": "weekly", "weekly_anchor": "someday"}}}})  # type: ignore
    assert caught.value.param == "settings[payouts][schedule][weekly_anchor]"
    assert client.v1.accounts.retrieve(account["id"]).settings.payouts.schedule.weekly_anchor == "friday"


def test_reject_account(fresh_emulator: EmulatorProcess, fresh_client: stripe.StripeClient) -> None:
    client = fresh_client
    since = int(time.time())
    for kind in ("express", "custom"):
        account = next(a for a in accounts_by_type(fresh_emulator, kind)
                       if not str(a["requirements"]["disabled_reason"] or "").startswith("rejected."))
        rejected = client.v1.accounts.reject(account["id"], params={"reason": "fraud_other"})
        # the SDK's version (2026-10-28) names the platform's rejections apart from Stripe's (since 2026-09-30)
        assert rejected.requirements.disabled_reason == "rejected.platform_fraud"
        assert rejected.charges_enabled is False and rejected.payouts_enabled is False
        events = [e for e in events_since(client, since, account["id"]) if e.type == "account.updated"]
        assert len(events) == 1 and events[0].account == account["id"]
        assert events[0].data.object.requirements.disabled_reason == "rejected.platform_fraud"
        with pytest.raises(stripe.InvalidRequestError):  # once is enough
            client.v1.accounts.reject(account["id"], params={"reason": "fraud_other"})
    standard = accounts_by_type(fresh_emulator, "standard")[0]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.accounts.reject(standard["id"], params={"reason": "fraud_other"})
    assert client.v1.accounts.retrieve(standard["id"]).requirements.disabled_reason != "rejected.fraud"
    express = accounts_by_type(fresh_emulator, "express")[-1]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.accounts.reject(express["id"], params={"reason": "because"})  # type: ignore[typeddict-item]
    assert caught.value.param == "reason"


def test_login_links_only_for_express(client: stripe.StripeClient, emulator: EmulatorProcess) -> None:
    # login links and account links change nothing, so the session emulator is fine here
    express = accounts_by_type(emulator, "express")[0]
    link = client.v1.accounts.login_links.create(express["id"])
    assert link.object == "login_link" and link.url.startswith("http") and express["id"] in link.url
    for kind in ("custom", "standard"):
        other = accounts_by_type(emulator, kind)[0]
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.accounts.login_links.create(other["id"])
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.accounts.login_links.create("acct_1Nope000000000")
    assert caught.value.http_status == 404


def test_account_links(client: stripe.StripeClient, emulator: EmulatorProcess) -> None:
    custom = accounts_by_type(emulator, "custom")[0]
    link = client.v1.account_links.create(params={"account": custom["id"], "type": "account_onboarding",
                                                  "refresh_url": "https://example.com/r",
                                                  "return_url": "https://example.com/done"})
    assert link.object == "account_link" and link.expires_at > link.created and link.url.startswith("http")
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.account_links.create(params={"account": custom["id"], "type": "nonsense"})  # type: ignore
    assert caught.value.param == "type"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.account_links.create(params={"account": "acct_1Nope000000000", "type": "account_onboarding"})
    assert caught.value.param == "account"


def test_cancel_payout(fresh_emulator: EmulatorProcess, fresh_client: stripe.StripeClient) -> None:
    client = fresh_client
    rows = dump(fresh_emulator, "payouts")
    statuses = {r["object"]["status"] for r in rows}
    assert "paid" in statuses
    # the seed's payouts are paid, in transit or failed: make a pending one with a manual payout
    account, currency = None, None
    for candidate in accounts_by_type(fresh_emulator, "express"):
        if not candidate["payouts_enabled"]:
            continue
        available = client.v1.balance.retrieve(options={"stripe_account": candidate["id"]}).available
        if any(b.currency == candidate["default_currency"] and b.amount >= 2500 for b in available):
            account, currency = candidate, candidate["default_currency"]
            break
    assert account is not None
    scoped = {"stripe_account": account["id"]}
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payouts.create(params={"amount": 10**12, "currency": currency}, options=scoped)
    assert caught.value.param == "amount"
    payout = client.v1.payouts.create(params={"amount": 2500, "currency": currency}, options=scoped)
    payout_id = payout.id
    assert payout.status == "pending" and payout.amount == 2500
    assert client.v1.payouts.retrieve(payout_id, options=scoped).status == "pending"
    since = int(time.time())
    with pytest.raises(stripe.InvalidRequestError):  # the account's payout is not the platform's
        client.v1.payouts.cancel(payout_id)
    canceled = client.v1.payouts.cancel(payout_id, options=scoped)
    assert canceled.status == "canceled"
    assert client.v1.payouts.retrieve(payout_id, options=scoped).status == "canceled"
    txns = client.v1.balance_transactions.list(params={"type": "payout_cancel", "created": {"gte": since}},
                                               options=scoped)
    assert [(t.source, t.amount) for t in txns.data] == [(payout_id, 2500)]
    events = [e for e in events_since(client, since, account["id"]) if e.type == "payout.canceled"]
    assert len(events) == 1 and events[0].data.object.id == payout_id
    with pytest.raises(stripe.InvalidRequestError):  # twice is an error
        client.v1.payouts.cancel(payout_id, options=scoped)

    paid = next(r for r in rows if r["object"]["status"] == "paid")
    options = {"stripe_account": paid["account"]} if paid["account"] else {}
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payouts.cancel(paid["object"]["id"], options=options)
    assert caught.value.http_status == 400
    assert client.v1.payouts.retrieve(paid["object"]["id"], options=options).status == "paid"


def test_transfer_reversal(fresh_emulator: EmulatorProcess, fresh_client: stripe.StripeClient) -> None:
    client = fresh_client
    transfer = next(r["object"] for r in dump(fresh_emulator, "transfers")
                    if r["object"]["amount_reversed"] == 0 and r["object"]["amount"] >= 1000)
    since = int(time.time())
    reversal = client.v1.transfers.reversals.create(transfer["id"], params={"amount": 300,
                                                                            "metadata": {"why": "ops"}})
    assert reversal.object == "transfer_reversal" and reversal.amount == 300 and reversal.transfer == transfer["id"]
    assert reversal.metadata["why"] == "ops"
    after = client.v1.transfers.retrieve(transfer["id"])
    assert after.amount_reversed == 300 and after.reversed is False
    assert client.v1.transfers.reversals.retrieve(transfer["id"], reversal.id).amount == 300
    payment = client.v1.charges.retrieve(transfer["destination_payment"],
                                         options={"stripe_account": transfer["destination"]})
    assert payment.amount_refunded == 300
    rest = client.v1.transfers.reversals.create(transfer["id"])
    assert rest.amount == transfer["amount"] - 300
    assert client.v1.transfers.retrieve(transfer["id"]).reversed is True
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.transfers.reversals.create(transfer["id"], params={"amount": 1})
    assert caught.value.param == "amount"
    types = [e.type for e in events_since(client, since)]
    assert types.count("transfer.reversed") == 2
    txns = client.v1.balance_transactions.list(params={"type": "transfer_refund", "created": {"gte": since}})
    assert sorted(t.amount for t in txns.data) == sorted([300, transfer["amount"] - 300])


# --- 7. idempotency ---------------------------------------------------------------------------


def test_idempotent_replay_and_conflict(fresh_emulator: EmulatorProcess, fresh_client: stripe.StripeClient) -> None:
    client = fresh_client
    charge = destination_charge(fresh_emulator)
    idem = key()
    params = {"charge": charge["id"], "amount": 200}
    first = client.v1.refunds.create(params=params, options={"idempotency_key": idem})
    second = client.v1.refunds.create(params=dict(params), options={"idempotency_key": idem})
    assert first.id == second.id
    assert second.last_response.headers.get("Idempotent-Replayed") == "true"
    after = client.v1.charges.retrieve(charge["id"])
    assert after.amount_refunded == 200
    assert [r.id for r in client.v1.refunds.list(params={"charge": charge["id"]}).data] == [first.id]

    with pytest.raises(stripe.IdempotencyError) as caught:
        client.v1.refunds.create(params={"charge": charge["id"], "amount": 300}, options={"idempotency_key": idem})
    assert caught.value.http_status == 400
    assert client.v1.charges.retrieve(charge["id"]).amount_refunded == 200

    # an error is replayed too, without acting again
    bad = key()
    for _ in range(2):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.refunds.create(params={"charge": charge["id"], "amount": 10**9},
                                     options={"idempotency_key": bad})
        assert caught.value.param == "amount"
    # a new key acts again
    third = client.v1.refunds.create(params=params, options={"idempotency_key": key()})
    assert third.id != first.id
    assert client.v1.charges.retrieve(charge["id"]).amount_refunded == 400


# --- 8. determinism ---------------------------------------------------------------------------


def test_same_seed_same_data() -> None:
    # today's midnight: with an older anchor the seed's events fall outside the 30-day event retention
    anchor = str(int(time.time()) // 86_400 * 86_400)
    args = ("--scale", "small", "--seed", "7", "--anchor", anchor)
    with start_emulator(*args) as one, start_emulator(*args) as two, \
            start_emulator("--scale", "small", "--seed", "8", "--anchor", anchor) as other:
        a, b, c = client_for(one), client_for(two), client_for(other)
        for service in ("accounts", "charges", "transfers", "events"):
            pa = getattr(a.v1, service).list(params={"limit": 100})
            pb = getattr(b.v1, service).list(params={"limit": 100})
            assert pa.data and pa.to_dict() == pb.to_dict(), service
        assert len(a.v1.charges.list(params={"limit": 100}).data) == 100
        assert [x.id for x in c.v1.accounts.list(params={"limit": 100}).data] != \
            [x.id for x in a.v1.accounts.list(params={"limit": 100}).data]


def test_expand_nested_on_mixed_list_and_strict_on_one_object(client: stripe.StripeClient,
                                                                emulator: EmulatorProcess) -> None:
    """`data.source.charge` expands where it fits (a refund's charge) and skips items it does not fit."""
    refunds = [r for r in dump(emulator, "refunds") if r["object"]["id"].startswith("pyr_")]
    assert refunds, "the small demo has transfer reversals"
    account, created = refunds[0]["account"], refunds[0]["object"]["created"]
    window = {"gte": created - 30 * 86400, "lte": created}  # the refund and, almost surely, payments before it
    page = client.v1.balance_transactions.list(
        params={"limit": 100, "created": window, "expand": ["data.source", "data.source.charge"]},
        options={"stripe_account": account})
    sources = [t.source for t in page.data]
    assert all(not isinstance(s, str) for s in sources if s is not None)
    payment_refunds = [s for s in sources if s is not None and s.object == "refund"]
    payments = [s for s in sources if s is not None and s.object == "charge"]
    assert refunds[0]["object"]["id"] in {r.id for r in payment_refunds}
    assert all(r.charge.object == "charge" and r.charge.id.startswith("py_") for r in payment_refunds)
    assert payments and all(not hasattr(p, "charge") for p in payments)
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.balance_transactions.retrieve(page.data[0].id, params={"expand": ["source.nothing_here"]},
                                                options={"stripe_account": account})
    assert error.value.param == "expand"
