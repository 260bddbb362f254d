"""Risk actions end to end: each changes the emulator's account through the SDK, writes its audit row and the
review's new state, and re-syncs the account; the API version decides how (risk_controls or a manual schedule)
and which reject reasons exist."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import stripe

from core import audit
from core.actions import ActionFailed, Context
from core.app.runtime import run_sync
from core.auth import Actor, PermissionDenied, Role
from core.risk import actions, review
from core.settings import Settings
from tests.mirror.test_sync import control
from tests.risk.conftest import api, sdk

RISK = Actor(email="rita@risk.example.com", name="Rita", role=Role.RISK)
SUPPORT = Actor(email="sam@support.example.com", name="Sam", role=Role.SUPPORT)
PREVIEW = "2026-10-28.preview"
OLD = "2025-09-30.clover"
REASON = "Dispute spike, case RISK-118"
_taken: set[str] = set()


def _account(ctx: Context, where: str) -> str:
    """An account of the synced demo no other test here has used."""
    rows = ctx.store.cursor().execute(f"SELECT id FROM connected_accounts WHERE account IS NULL AND {where} "
                                      "ORDER BY id").fetchall()
    account = next(r[0] for r in rows if r[0] not in _taken)
    _taken.add(account)
    return account


def _usable(ctx: Context, interval: str | None = None) -> str:
    """A custom account that takes payments and pays out automatically (on `interval`, if given)."""
    schedule = f"= '{interval}'" if interval else "<> 'manual'"
    return _account(ctx, f"type IN ('custom', 'express') AND payout_schedule_interval {schedule} "
                         "AND requirements_disabled_reason IS NULL AND charges_enabled AND payouts_enabled")


def _audit(ctx: Context, action: str, account: str) -> list[audit.AuditRow]:
    return audit.entries(ctx.store.cursor(), action=action, account_id=account)


def _mirrored(ctx: Context, account: str, column: str) -> Any:
    return ctx.store.cursor().execute(f"SELECT {column} FROM connected_accounts WHERE id = ?", [account]).fetchone()[0]


def test_pause_with_a_manual_schedule_then_resume_restores_it(world) -> None:
    ctx, emulator = world
    account = _usable(ctx, "weekly")
    before = sdk(emulator).v1.accounts.retrieve(account).settings.payouts.schedule
    plan = actions.plan_pause(ctx, account)
    assert plan.method == actions.MANUAL_SCHEDULE and plan.previous_schedule["interval"] == "weekly"
    assert "manual" in plan.describe() and "no risk_controls" in plan.describe()
    result = actions.pause_payouts(ctx, RISK, plan, REASON)
    assert "payout schedule set to manual" in result.message and "Resuming restores weekly" in result.message
    assert sdk(emulator).v1.accounts.retrieve(account).settings.payouts.schedule.interval == "manual"
    assert _mirrored(ctx, account, "payout_schedule_interval") == "manual", "re-synced at once"
    row = _audit(ctx, "pause_payouts", account)[0]
    assert (row.result, row.reason, row.actor_email) == ("succeeded", REASON, RISK.email)
    assert row.params["method"] == "manual_schedule" and row.stripe_request_id
    assert review.review_of(ctx.store.cursor(), account).state == "actioned"
    with pytest.raises(ActionFailed, match="already paused"):
        actions.plan_pause(ctx, account)

    resumed = actions.resume_payouts(ctx, RISK, account, "Merchant sent the invoices")
    assert "back to weekly on Mondays" in resumed.message
    live = sdk(emulator).v1.accounts.retrieve(account).settings.payouts.schedule
    assert (live.interval, live.delay_days, live.weekly_anchor) == (before.interval, before.delay_days,
                                                                     before.weekly_anchor)
    assert _mirrored(ctx, account, "payout_schedule_interval") == "weekly"
    assert [r.params.get("resume") for r in _audit(ctx, "pause_payouts", account)] == [True, None]
    assert review.review_of(ctx.store.cursor(), account).state == "in_review"
    assert review.payout_pause(ctx.store.cursor(), account) is None


def test_pause_with_risk_controls_on_a_preview_version(world) -> None:
    ctx, emulator = world
    preview = Context(ctx.store, api(emulator, PREVIEW))
    account = _usable(preview)
    plan = actions.plan_pause(preview, account)
    assert plan.method == actions.RISK_CONTROLS and plan.previous_schedule is None
    result = actions.pause_payouts(preview, RISK, plan, REASON)
    assert "risk_controls.payouts.pause_requested" in result.message
    live = sdk(emulator, PREVIEW).v1.accounts.retrieve(account)
    assert live.risk_controls.payouts.pause_requested is True and live.payouts_enabled is False
    assert live.settings.payouts.schedule.interval != "manual", "the schedule is left alone"
    assert _mirrored(preview, account, "payouts_enabled") is False
    with pytest.raises(stripe.InvalidRequestError, match="paused"):  # Stripe now refuses payouts to it
        sdk(emulator).v1.payouts.create(params={"amount": 100, "currency": "usd"}, options={"stripe_account": account})
    actions.resume_payouts(preview, RISK, account, "False alarm after review")
    live = sdk(emulator, PREVIEW).v1.accounts.retrieve(account)
    assert live.risk_controls.payouts.pause_requested is False and live.payouts_enabled is True


def test_risk_controls_do_not_exist_outside_preview_versions(world) -> None:
    _, emulator = world
    with pytest.raises(stripe.InvalidRequestError) as caught:
        sdk(emulator).v1.accounts.update("acct_x", params={"risk_controls": {"payouts": {"pause_requested": True}}})
    assert caught.value.http_status in (400, 404)
    ctx, _ = world
    account = _usable(ctx)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        sdk(emulator).v1.accounts.update(account, params={"risk_controls": {"payouts": {"pause_requested": True}}})
    assert caught.value.param == "risk_controls"


def test_reject_with_the_reasons_of_the_configured_version(world) -> None:
    ctx, emulator = world
    assert actions.reject_reasons(actions.api_version(ctx)) == actions.REJECT_REASONS_SPLIT
    account = _usable(ctx)
    with pytest.raises(ActionFailed, match="must be one of"):
        actions.reject_account(ctx, RISK, account, "fraud", REASON)  # gone since 2026-09-30
    result = actions.reject_account(ctx, RISK, account, "fraud_no_intent_to_fulfill", REASON)
    assert "no intent to deliver" in result.message
    live = sdk(emulator).v1.accounts.retrieve(account)  # the SDK's own version, 2026-10-28: after the split
    assert live.requirements.disabled_reason == "rejected.platform_fraud", "the platform rejected it"
    assert live.charges_enabled is False and live.payouts_enabled is False
    assert _mirrored(ctx, account, "requirements_disabled_reason") == "rejected.platform_fraud"
    assert sdk(emulator, OLD).v1.accounts.retrieve(account).requirements.disabled_reason == "rejected.fraud"
    row = _audit(ctx, "reject_account", account)[0]
    assert row.result == "succeeded" and row.params["reason"] == "fraud_no_intent_to_fulfill"
    assert review.review_of(ctx.store.cursor(), account).state == "actioned"
    assert review.history(ctx.store.cursor(), account)[0].note.startswith("Rejected (fraud_no_intent_to_fulfill)")
    with pytest.raises(ActionFailed, match="already rejected"):
        actions.reject_account(ctx, RISK, account, "other", REASON)


def test_reject_on_an_older_version_uses_fraud(world) -> None:
    ctx, emulator = world
    old = Context(ctx.store, api(emulator, OLD))
    assert actions.reject_reasons(actions.api_version(old)) == ("fraud", "terms_of_service", "other")
    account = _usable(old)
    with pytest.raises(ActionFailed, match="must be one of fraud, terms_of_service, other"):
        actions.reject_account(old, RISK, account, "fraud_other", REASON)
    actions.reject_account(old, RISK, account, "fraud", REASON)
    assert sdk(emulator, OLD).v1.accounts.retrieve(account).requirements.disabled_reason == "rejected.fraud"
    assert _mirrored(old, account, "requirements_disabled_reason") == "rejected.fraud", "read at the old version"
    with pytest.raises(stripe.InvalidRequestError, match="fraud, terms_of_service, other"):  # the emulator agrees
        sdk(emulator, OLD).v1.accounts.reject(_usable(old), params={"reason": "credit"})


def test_standard_accounts_and_other_roles_are_refused(world) -> None:
    ctx, emulator = world
    standard = _account(ctx, "type = 'standard'")
    with pytest.raises(ActionFailed, match="Standard accounts"):
        actions.plan_pause(ctx, standard)
    with pytest.raises(ActionFailed, match="Standard accounts"):
        actions.reject_account(ctx, RISK, standard, "other", REASON)
    account = _usable(ctx)
    with pytest.raises(PermissionDenied):
        actions.reject_account(ctx, SUPPORT, account, "other", REASON)
    assert sdk(emulator).v1.accounts.retrieve(account).charges_enabled is True
    assert _audit(ctx, "reject_account", account)[0].result == "denied"
    with pytest.raises(PermissionDenied):
        review.start_review(ctx, SUPPORT, account)
    with pytest.raises(ActionFailed, match="reason"):
        actions.pause_payouts(ctx, RISK, actions.plan_pause(ctx, account), " ")
    assert sdk(emulator).v1.accounts.retrieve(account).settings.payouts.schedule.interval != "manual"


def test_a_double_click_pauses_once(world) -> None:
    ctx, _ = world
    account = _usable(ctx)
    plan = actions.plan_pause(ctx, account)
    first = actions.pause_payouts(ctx, RISK, plan, REASON)
    second = actions.pause_payouts(ctx, RISK, plan, REASON)  # the same click, sent twice
    assert not first.repeated and second.repeated and "Already done" in second.message
    assert len(_audit(ctx, "pause_payouts", account)) == 1
    assert ctx.store.cursor().execute("SELECT count(*) FROM risk_payout_pauses WHERE account_id = ?",
                                      [account]).fetchone()[0] == 1


def test_the_permission_check_comes_first_and_every_refusal_is_audited(world) -> None:
    """A support user learns nothing of the review state: each risk change refuses them before reading it, and
    writes a `denied` audit row (issue 19: start_review wrote none; resume, reject and clear validated first)."""
    ctx, emulator = world
    account = _usable(ctx)
    refusals = [
        ("risk_review", lambda: review.start_review(ctx, SUPPORT, account, note="Taking it")),
        ("pause_payouts", lambda: actions.resume_payouts(ctx, SUPPORT, account, REASON)),   # nothing paused
        ("reject_account", lambda: actions.reject_account(ctx, SUPPORT, account, "nonsense", REASON)),
        ("clear_review", lambda: actions.clear(ctx, SUPPORT, account, date(2099, 1, 1), REASON, [])),  # not in review
        ("pause_payouts", lambda: actions.plan_pause(ctx, account, SUPPORT)),
    ]
    for action, attempt in refusals:
        before = len(_audit(ctx, action, account))
        with pytest.raises(PermissionDenied):
            attempt()
        rows = _audit(ctx, action, account)
        assert len(rows) == before + 1 and rows[0].result == "denied" and rows[0].actor_email == SUPPORT.email, action
    assert review.review_of(ctx.store.cursor(), account).state == "new", "nothing changed"
    assert sdk(emulator).v1.accounts.retrieve(account).charges_enabled is True


def test_a_support_agent_cannot_undo_a_risk_pause(world) -> None:
    """Risk paused payouts with the manual schedule; support changing the schedule would restart them while the
    Risk page still says paused. It is refused with the reason, audited, and nothing reaches Stripe."""
    from core.support.actions import set_payout_schedule

    ctx, emulator = world
    account = _usable(ctx, "daily")
    actions.pause_payouts(ctx, RISK, actions.plan_pause(ctx, account), REASON)
    with pytest.raises(ActionFailed, match="held by the risk team"):
        set_payout_schedule(ctx, SUPPORT, account, "daily", None, "Merchant asked for daily payouts again")
    assert sdk(emulator).v1.accounts.retrieve(account).settings.payouts.schedule.interval == "manual"
    row = _audit(ctx, "payout_schedule", account)[0]
    assert row.result == "denied" and "held by the risk team" in row.error and row.actor_email == SUPPORT.email
    actions.resume_payouts(ctx, RISK, account, REASON)
    set_payout_schedule(ctx, SUPPORT, account, "weekly", None, "Merchant asked for weekly payouts",
                        weekly_anchor="friday")
    assert sdk(emulator).v1.accounts.retrieve(account).settings.payouts.schedule.interval == "weekly"


UNREJECT_VERSION = "2026-07-29.dahlia"


def _resync(ctx: Context, emulator: Any) -> None:
    """The incremental sync the app runs, so the mirror sees what changed at the emulator."""
    settings = Settings(stripe_api_key=emulator.api_key, stripe_api_base=emulator.base_url,
                        connect_ops_db=ctx.store.path, connect_ops_max_rps=400, connect_ops_max_rps_per_endpoint=400)
    run_sync(settings, ctx.store)


def test_unreject_by_version(world) -> None:
    """Unreject exists from 2026-07-29 and reverses only the platform's own rejections; from 2026-09-30 the
    disabled reason says which rejections those are."""
    ctx, emulator = world
    account = _usable(ctx)
    actions.reject_account(ctx, RISK, account, "fraud_other", REASON)
    old = Context(ctx.store, api(emulator, OLD))
    assert not actions.can_unreject(OLD, "rejected.fraud")
    with pytest.raises(ActionFailed, match="no unreject"):
        actions.unreject_account(old, RISK, account, "Merchant proved its identity, case RISK-9")
    with pytest.raises(stripe.InvalidRequestError):  # the emulator agrees: no such endpoint on that version
        sdk(emulator, OLD).v1.accounts.unreject(account)
    assert actions.can_unreject(actions.api_version(ctx), "rejected.platform_fraud")
    result = actions.unreject_account(ctx, RISK, account, "Merchant proved its identity, case RISK-9")
    assert "Unrejected: charges enabled True, payouts enabled True" in result.message
    live = sdk(emulator).v1.accounts.retrieve(account)
    assert live.requirements.disabled_reason is None and live.charges_enabled is True
    assert review.review_of(ctx.store.cursor(), account).state == "in_review"
    assert _audit(ctx, "reject_account", account)[0].params["unreject"] is True
    stripes = _usable(ctx)  # rejected by Stripe itself (the emulator's control), not by the platform
    control(emulator, "POST", f"/_emulator/accounts/{stripes}/requirements", disabled_reason="rejected.fraud")
    assert sdk(emulator).v1.accounts.retrieve(stripes).requirements.disabled_reason == "rejected.fraud"
    _resync(ctx, emulator)
    assert not actions.can_unreject(actions.api_version(ctx), "rejected.fraud")
    with pytest.raises(ActionFailed, match="only the platform's own rejections"):
        actions.unreject_account(ctx, RISK, stripes, "Looks fine now")
    with pytest.raises(stripe.InvalidRequestError, match="rejected by Stripe"):
        sdk(emulator, UNREJECT_VERSION).v1.accounts.unreject(stripes)


def test_express_accounts_whose_losses_stripe_bears_cannot_be_rejected(world) -> None:
    """From 2026-11-18 an Express account may have Stripe bear its losses; only accounts whose platform is liable
    may be rejected. Before that version such an account cannot be created."""
    ctx, emulator = world
    params = {"type": "express", "country": "US", "email": "liability@example.com",
              "controller": {"losses": {"payments": "stripe"}}}
    with pytest.raises(stripe.InvalidRequestError, match="2026-11-18"):
        sdk(emulator).v1.accounts.create(params=params)  # the SDK's 2026-10-28
    created = sdk(emulator, "2026-11-18.endive").v1.accounts.create(params=params)
    assert created.controller.losses.payments == "stripe"
    _resync(ctx, emulator)
    with pytest.raises(ActionFailed, match="Stripe bears this account's losses"):
        actions.reject_account(ctx, RISK, created.id, "fraud_other", REASON)
    with pytest.raises(stripe.InvalidRequestError, match="liable for negative balances"):
        sdk(emulator).v1.accounts.reject(created.id, params={"reason": "fraud_other"})
    actions.plan_pause(ctx, created.id, RISK)  # its payouts can still be paused


def test_a_manual_schedule_says_what_it_does_not_stop_and_cancels_pending_payouts(world) -> None:
    """The manual-schedule fallback stops automatic payouts from now on; a payout already created still goes out.
    The plan says so, and pausing can cancel the pending ones (each its own audited action)."""
    ctx, emulator = world
    account = _account(ctx, "type IN ('custom', 'express') AND requirements_disabled_reason IS NULL "
                            "AND payout_schedule_interval <> 'manual' AND payouts_enabled AND id IN ("
                            "SELECT account FROM balance_transactions WHERE currency = 'usd' AND account IS NOT NULL "
                            "AND available_on < now() GROUP BY 1 HAVING sum(net) > 10000)")
    balance = sdk(emulator).v1.balance.retrieve(options={"stripe_account": account})
    usd = next(b.amount for b in balance.available if b.currency == "usd")
    assert usd > 200, "the seeded merchant has money to pay out"
    payout = sdk(emulator).v1.payouts.create(params={"amount": 200, "currency": "usd"},
                                            options={"stripe_account": account})
    assert payout.status == "pending"
    _resync(ctx, emulator)
    plan = actions.plan_pause(ctx, account, RISK)
    assert [p["id"] for p in plan.pending] == [payout.id]
    assert "does not stop payouts already created: 1 pending payout ($2.00)" in plan.describe()
    result = actions.pause_payouts(ctx, RISK, plan, REASON, cancel_pending=True)
    assert f"Pending payouts: {payout.id} canceled" in result.message
    assert sdk(emulator).v1.payouts.retrieve(payout.id, options={"stripe_account": account}).status == "canceled"
    assert _audit(ctx, "pause_payouts", account)[0].params == {"cancel_payout": payout.id}
