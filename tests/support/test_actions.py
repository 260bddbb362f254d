"""Actions end to end: the SDK against the emulator, the audit row, the re-synced row, no double acts."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core import audit
from core.actions import ActionFailed, Context
from core.support.actions import (add_note, create_account_link, create_login_link, plan_refund,
                          refund_charge, set_payout_schedule)
from core.auth import Actor, PermissionDenied, Role
from core.emulator.launcher import start_emulator
from core.app.runtime import run_sync
from core.settings import Settings
from core.mirror.store import Store
from core.stripe_api import StripeApi
from tests.conftest import client_for

SUPPORT = Actor(email="sam@support.example.com", name="Sam", role=Role.SUPPORT)
FINANCE = Actor(email="fin@example.com", name="Fin", role=Role.FINANCE)
REASON = "Customer asked on ticket #4521"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Context, object]]:
    """A fresh emulator this module may change, mirrored once into its own DuckDB file."""
    with start_emulator("--scale", "small", "--seed", "3") as emulator:
        settings = Settings(stripe_api_key=emulator.api_key, stripe_api_base=emulator.base_url,
                            connect_ops_db=Path(tmp_path_factory.mktemp("actions")) / "a.duckdb",
                            connect_ops_max_rps=400, connect_ops_max_rps_per_endpoint=400)
        store = Store(settings.connect_ops_db)
        run_sync(settings, store)
        api = StripeApi(emulator.api_key, emulator.base_url, max_rps=400, max_rps_per_endpoint=400)
        yield Context(store, api), emulator
        store.close()


def _one(ctx: Context, sql: str, *args: object) -> tuple:
    row = ctx.store.cursor().execute(sql, list(args)).fetchone()
    assert row is not None, sql
    return row


def _audit(ctx: Context, **filters: object) -> list[audit.AuditRow]:
    return audit.entries(ctx.store.cursor(), **filters)


def test_partial_destination_refund_with_fee_and_reversal(world) -> None:
    ctx, emulator = world
    charge_id, amount, currency = _one(ctx, """SELECT id, amount, currency FROM charges WHERE status = 'succeeded'
        AND transfer_id IS NOT NULL AND application_fee_id IS NOT NULL AND amount_refunded = 0 AND NOT disputed
        AND currency = 'usd' ORDER BY created DESC LIMIT 1""")
    plan = plan_refund(ctx, charge_id, "10.50", refund_application_fee=True, reverse_transfer=True)
    assert plan.amount == 1050 and "application fee" in plan.describe()
    result = refund_charge(ctx, SUPPORT, plan, "requested_by_customer", REASON)
    assert result.stripe_request_id and result.stripe_request_id.startswith("req_")
    live = client_for(emulator).v1.charges.retrieve(charge_id)
    assert live.amount_refunded == 1050 and not live.refunded
    assert _one(ctx, "SELECT amount_refunded FROM charges WHERE id = ?", charge_id)[0] == 1050
    fee_refunded = _one(ctx, "SELECT f.amount_refunded FROM application_fees f JOIN charges c "
                             "ON f.id = c.application_fee_id WHERE c.id = ?", charge_id)[0]
    assert fee_refunded > 0
    assert _one(ctx, "SELECT t.amount_reversed FROM transfers t JOIN charges c ON t.id = c.transfer_id "
                     "WHERE c.id = ?", charge_id)[0] == 1050
    row = _audit(ctx, action="refund", text=charge_id)[0]
    assert (row.actor_email, row.result, row.reason) == (SUPPORT.email, "succeeded", REASON)
    assert row.params["amount"] == 1050 and row.stripe_request_id == result.stripe_request_id
    assert row.account_id is not None


def test_repeated_click_does_not_refund_twice(world) -> None:
    ctx, emulator = world
    (charge_id,) = _one(ctx, """SELECT id FROM charges WHERE status = 'succeeded' AND amount_refunded = 0
        AND NOT disputed AND source_transfer_id IS NULL AND amount > 2000 ORDER BY created LIMIT 1""")
    plan = plan_refund(ctx, charge_id, "5", False, False)
    first = refund_charge(ctx, SUPPORT, plan, None, REASON)
    second = refund_charge(ctx, SUPPORT, plan, None, REASON)
    assert not first.repeated and second.repeated
    refunds = client_for(emulator).v1.refunds.list(params={"charge": charge_id},
                                                   options=_scope_options(ctx, charge_id))
    assert len(refunds.data) == 1
    assert len(_audit(ctx, action="refund", text=charge_id)) == 1


def _scope_options(ctx: Context, charge_id: str) -> dict:
    (account,) = _one(ctx, "SELECT account FROM charges WHERE id = ?", charge_id)
    return {"stripe_account": account} if account else {}


def test_direct_charge_refund_goes_to_the_connected_account(world) -> None:
    ctx, emulator = world
    charge_id, account = _one(ctx, """SELECT id, account FROM charges WHERE account IS NOT NULL
        AND source_transfer_id IS NULL AND status = 'succeeded' AND amount_refunded = 0 AND NOT disputed LIMIT 1""")
    plan = plan_refund(ctx, charge_id, None, refund_application_fee=True, reverse_transfer=False)
    refund_charge(ctx, SUPPORT, plan, "duplicate", REASON)
    live = client_for(emulator).v1.charges.retrieve(charge_id, options={"stripe_account": account})
    assert live.refunded
    assert _one(ctx, "SELECT refunded FROM charges WHERE id = ? AND account = ?", charge_id, account)[0] is True


def test_refund_validation_in_major_units(world) -> None:
    ctx, _ = world
    charge_id, amount, currency = _one(ctx, """SELECT id, amount, currency FROM charges WHERE status = 'succeeded'
        AND amount_refunded = 0 AND source_transfer_id IS NULL AND currency = 'jpy' LIMIT 1""")
    with pytest.raises(ActionFailed, match="more decimals"):
        plan_refund(ctx, charge_id, "1.5", False, False)
    with pytest.raises(ActionFailed, match="At most"):
        plan_refund(ctx, charge_id, str(amount + 1), False, False)
    with pytest.raises(ActionFailed, match="not an amount"):
        plan_refund(ctx, charge_id, "ten", False, False)
    (failed,) = _one(ctx, "SELECT id FROM charges WHERE status = 'failed' LIMIT 1")
    with pytest.raises(ActionFailed, match="only succeeded"):
        plan_refund(ctx, failed, None, False, False)
    with pytest.raises(ActionFailed, match="No charge"):
        plan_refund(ctx, "ch_doesnotexist", None, False, False)


def test_role_without_permission_cannot_refund_even_calling_core(world) -> None:
    ctx, emulator = world
    (charge_id,) = _one(ctx, """SELECT id FROM charges WHERE status = 'succeeded' AND amount_refunded = 0
        AND source_transfer_id IS NULL AND NOT disputed ORDER BY created DESC LIMIT 1 OFFSET 5""")
    plan = plan_refund(ctx, charge_id, None, False, False)
    with pytest.raises(PermissionDenied):
        refund_charge(ctx, FINANCE, plan, None, REASON)
    assert client_for(emulator).v1.charges.retrieve(charge_id, options=_scope_options(ctx, charge_id)).amount_refunded == 0
    denied = _audit(ctx, actor=FINANCE.email)[0]
    assert denied.result == "denied" and denied.action == "refund"


def test_a_reason_is_required(world) -> None:
    ctx, _ = world
    (account,) = _one(ctx, "SELECT id FROM connected_accounts WHERE type = 'express' LIMIT 1")
    with pytest.raises(ActionFailed, match="reason"):
        create_login_link(ctx, SUPPORT, account, "  ")


def test_login_link_for_express_only(world) -> None:
    ctx, _ = world
    (express,) = _one(ctx, "SELECT id FROM connected_accounts WHERE type = 'express' LIMIT 1")
    result = create_login_link(ctx, SUPPORT, express, REASON)
    assert result.url and express in result.url
    assert _audit(ctx, action="login_link", account_id=express)[0].result == "succeeded"
    (custom,) = _one(ctx, "SELECT id FROM connected_accounts WHERE type = 'custom' LIMIT 1")
    with pytest.raises(ActionFailed, match="Express"):
        create_login_link(ctx, SUPPORT, custom, REASON)


def test_account_link_shows_expiry(world) -> None:
    ctx, _ = world
    (account,) = _one(ctx, "SELECT id FROM connected_accounts WHERE type = 'custom' LIMIT 1")
    result = create_account_link(ctx, SUPPORT, account, "account_update", REASON,
                                 "https://platform.example.com/return", "https://platform.example.com/refresh")
    assert result.url and result.expires_at is not None and "expires" in result.message
    (standard,) = _one(ctx, "SELECT id FROM connected_accounts WHERE type = 'standard' LIMIT 1")
    with pytest.raises(ActionFailed, match="Standard"):
        create_account_link(ctx, SUPPORT, standard, "account_update", REASON, "https://x.example", "https://y.example")


def test_payout_schedule_changes_in_stripe_and_in_the_mirror(world) -> None:
    ctx, emulator = world
    (account,) = _one(ctx, "SELECT id FROM connected_accounts WHERE type = 'express' "
                           "AND payout_schedule_interval <> 'weekly' LIMIT 1")
    result = set_payout_schedule(ctx, SUPPORT, account, "weekly", 7, REASON, weekly_anchor="friday")
    assert "weekly on Fridays" in result.message
    live = client_for(emulator).v1.accounts.retrieve(account)
    assert live.settings.payouts.schedule.interval == "weekly"
    assert live.settings.payouts.schedule.weekly_anchor == "friday"
    assert _one(ctx, "SELECT payout_schedule_interval, payout_schedule_delay_days FROM connected_accounts "
                     "WHERE id = ?", account) == ("weekly", 7)
    with pytest.raises(ActionFailed, match="weekday"):
        set_payout_schedule(ctx, SUPPORT, account, "weekly", 7, REASON)


def test_stripe_errors_come_back_in_words(world) -> None:
    ctx, _ = world
    (account,) = _one(ctx, "SELECT id FROM connected_accounts WHERE type = 'custom' LIMIT 1")
    with pytest.raises(ActionFailed, match="Stripe refused"):
        create_account_link(ctx, SUPPORT, account, "account_onboarding", REASON, "not-a-url", "https://x.example")
    assert _audit(ctx, action="account_link")[0].result == "failed"


def test_notes_are_kept_and_audited(world) -> None:
    ctx, _ = world
    (account,) = _one(ctx, "SELECT id FROM connected_accounts LIMIT 1")
    add_note(ctx, SUPPORT, account, "Called the merchant about the payout; they'll update the bank 👍")
    notes = audit.notes(ctx.store.cursor(), account)
    assert notes[0].body.endswith("👍") and notes[0].author_email == SUPPORT.email
    with pytest.raises(PermissionDenied):
        add_note(ctx, FINANCE, account, "finance may only read")


def test_a_refused_note_is_audited_and_unknown_accounts_take_none(world) -> None:
    """Issue 19: add_note raised PermissionDenied without a denied row, and took notes on accounts that do not
    exist."""
    ctx, _ = world
    (account,) = _one(ctx, "SELECT id FROM connected_accounts LIMIT 1")
    with pytest.raises(PermissionDenied):
        add_note(ctx, FINANCE, account, "finance may only read")
    denied = _audit(ctx, action="note", actor=FINANCE.email)
    assert denied and denied[0].result == "denied" and denied[0].account_id == account and denied[0].error
    before = ctx.store.cursor().execute("SELECT count(*) FROM account_notes").fetchall()[0][0]
    with pytest.raises(ActionFailed, match="No connected account"):
        add_note(ctx, SUPPORT, "acct_does_not_exist", "a note on nobody")
    assert ctx.store.cursor().execute("SELECT count(*) FROM account_notes").fetchall()[0][0] == before


def test_audit_log_filters_and_csv(world) -> None:
    ctx, _ = world
    rows = _audit(ctx, actor=SUPPORT.email)
    assert rows and all(r.actor_email == SUPPORT.email for r in rows)
    assert [r.id for r in rows] == sorted((r.id for r in rows), reverse=True)
    csv_text = audit.to_csv(rows)
    assert csv_text.splitlines()[0].startswith("id,occurred_at,actor_email")
    assert len(csv_text.splitlines()) == len(rows) + 1
    assert _audit(ctx, text="%") == [], "search text is literal, not a LIKE pattern"
    assert _audit(ctx, text="TICKET #4521"), "search is case-insensitive"
