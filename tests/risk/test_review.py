"""The review workflow: new -> in review -> cleared (until a date) -> back when the date passes or a new signal
fires; notes go with each state, every change is in the audit log, the state lives in DuckDB."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core import audit, clock
from core.actions import ActionFailed, Context
from core.app.runtime import run_sync
from core.auth import Actor, Role
from core.clock import utc_now
from core.risk import actions, review
from core.risk.queue import QueueFilters, account_risk, queue, refresh_after_sync
from core.settings import Settings
from tests.mirror.test_sync import control

RISK = Actor(email="rita@risk.example.com", name="Rita", role=Role.RISK)
LEAD = Actor(email="lee@risk.example.com", name="Lee", role=Role.RISK)


def _account(ctx: Context, where: str, offset: int = 0) -> str:
    return ctx.store.cursor().execute(f"SELECT id FROM connected_accounts WHERE account IS NULL AND {where} "
                                      "ORDER BY id DESC LIMIT 1 OFFSET ?", [offset]).fetchone()[0]


def _firing(ctx: Context, account: str) -> list[str]:
    risk = account_risk(ctx.store.cursor(), account)
    assert risk is not None
    return risk.assessment.signals


def _in_open_queue(ctx: Context, account: str, now=None) -> list:
    return [r for r in queue(ctx.store.cursor(), QueueFilters(lanes=()), now=now, limit=None).rows
            if r.account == account]


def test_start_assign_and_clear_with_notes_and_audit(world) -> None:
    ctx, _ = world
    account = _account(ctx, "requirements_past_due_count > 0")
    firing = _firing(ctx, account)
    assert "past_due" in firing and _in_open_queue(ctx, account)[0].review_state == "new"
    with pytest.raises(ActionFailed, match="Start the review first"):
        actions.clear(ctx, RISK, account, clock.today() + timedelta(days=10), "Nothing to see here", firing)
    assert review.start_review(ctx, RISK, account, note="Taking it") == f"In review by {RISK.email}."
    with pytest.raises(ActionFailed, match="Already in review"):
        review.start_review(ctx, RISK, account)
    review.start_review(ctx, RISK, account, assignee=LEAD.email, note="Lee knows this merchant")
    row = _in_open_queue(ctx, account)[0]
    assert (row.review_state, row.assignee) == ("in_review", LEAD.email)
    assert [r.account for r in queue(ctx.store.cursor(), QueueFilters(assignees=(LEAD.email,), lanes=())).rows] == [
        account]
    for bad_until, words in ((clock.today() - timedelta(days=1), "after today"),
                             (clock.today() + timedelta(days=400), "within 365 days")):
        with pytest.raises(ActionFailed, match=words):
            actions.clear(ctx, LEAD, account, bad_until, "Documents are on their way", firing)
    with pytest.raises(ActionFailed, match="reason"):
        actions.clear(ctx, LEAD, account, clock.today() + timedelta(days=10), "ok", firing)
    result = actions.clear(ctx, LEAD, account, clock.today() + timedelta(days=10), "Documents are on their way", firing)
    assert f"Cleared until {clock.today() + timedelta(days=10):%Y-%m-%d}" in result.message
    assert not _in_open_queue(ctx, account), "a cleared account leaves the open queue"
    stored = review.review_of(ctx.store.cursor(), account)
    assert stored.state == "cleared" and sorted(stored.cleared_signals) == sorted(firing)
    history = review.history(ctx.store.cursor(), account)
    assert [(e.from_state, e.to_state, e.actor_email, e.note) for e in history] == [
        ("in_review", "cleared", LEAD.email, "Documents are on their way"),
        ("in_review", "in_review", RISK.email, "Lee knows this merchant"),
        ("new", "in_review", RISK.email, "Taking it")]
    logged = audit.entries(ctx.store.cursor(), account_id=account)
    assert [r.action for r in logged] == ["clear_review", "risk_review", "risk_review"]
    assert all(r.result == "succeeded" for r in logged) and history[0].audit_id == logged[0].id


def test_a_cleared_account_comes_back_when_its_clearance_expires(world) -> None:
    ctx, _ = world
    account = _account(ctx, "requirements_past_due_count > 0", offset=1)
    firing = _firing(ctx, account)
    review.start_review(ctx, RISK, account)
    actions.clear(ctx, RISK, account, clock.today() + timedelta(days=2), "Checked the owner's ID by phone", firing)
    assert not _in_open_queue(ctx, account)
    later = utc_now() + timedelta(days=4)
    back = _in_open_queue(ctx, account, now=later)
    assert back, "after its date the account is in the open queue again"
    assert back[0].review_state == "new" and back[0].review_why.startswith("clearance expired on")
    assert "past_due" in back[0].signals, "the signal persists"
    assert review.review_of(ctx.store.cursor(), account).state == "cleared", "nothing written yet"
    assert account in refresh_after_sync(ctx.store, now=later)  # what runs after each sync writes it down
    stored = review.review_of(ctx.store.cursor(), account)
    assert stored.state == "new" and stored.updated_by == review.SYSTEM.email
    event = review.history(ctx.store.cursor(), account)[0]
    assert (event.from_state, event.to_state, event.actor_email) == ("cleared", "new", review.SYSTEM.email)
    entry = audit.entries(ctx.store.cursor(), account_id=account)[0]
    assert (entry.action, entry.actor_email, entry.params) == ("risk_review", review.SYSTEM.email,
                                                              {"from": "cleared", "to": "new"})
    assert account not in refresh_after_sync(ctx.store, now=later), "once"


def test_a_new_signal_brings_a_cleared_account_back_before_its_date(world) -> None:
    ctx, emulator = world
    account = _account(ctx, "type = 'standard' AND requirements_disabled_reason IS NULL "
                            "AND coalesce(requirements_past_due_count, 0) = 0")
    firing = _firing(ctx, account)
    assert "past_due" not in firing
    review.start_review(ctx, RISK, account)
    actions.clear(ctx, RISK, account, clock.today() + timedelta(days=60), "Seasonal merchant, volume as expected",
                  firing)
    control(emulator, "POST", f"/_emulator/accounts/{account}/requirements", past_due="company.tax_id",
            currently_due="company.tax_id")
    settings = Settings(stripe_api_key=emulator.api_key, stripe_api_base=emulator.base_url,
                        connect_ops_db=ctx.store.path, connect_ops_max_rps=400, connect_ops_max_rps_per_endpoint=400)
    run_sync(settings, ctx.store)  # the incremental sync brings the account.updated event
    back = _in_open_queue(ctx, account)
    assert back and back[0].review_state == "new", "back well before its date"
    assert back[0].review_why == "new signal since it was cleared: Requirements past due, Account disabled"


def test_a_cleared_account_reopens_when_a_signal_gets_worse() -> None:
    """Cleared at 3 disputes of 200 (2.8 points); the same signal at 500 of 5,000 (35 points) is not the case that
    was cleared. A little drift (the windows slide) keeps it cleared."""
    now = datetime(2026, 12, 1, 12)
    cleared = review.Review(account_id="acct_x", state="cleared", cleared_until=now + timedelta(days=300),
                            cleared_signals=review.encode_signals({"dispute_activity": 2.8, "past_due": 10.0}))
    assert cleared.cleared_signals == ["dispute_activity:2.8", "past_due:10"]
    same = review.effective_state(cleared, {"dispute_activity": 3.5, "past_due": 10.0}, now, {})
    assert same.state == "cleared"
    worse = review.effective_state(cleared, {"dispute_activity": 35.0, "past_due": 10.0}, now,
                                   {"dispute_activity": "Dispute activity"})
    assert worse.state == "new" and worse.why == "worse since it was cleared: Dispute activity (2.8 to 35 points)"
    old_style = cleared.model_copy(update={"cleared_signals": ["dispute_activity"]})  # cleared before points
    assert review.effective_state(old_style, {"dispute_activity": 35.0}, now, {}).state == "cleared"


def test_a_stale_take_into_review_is_refused_and_says_who_changed_what(world) -> None:
    ctx, _ = world
    account = _account(ctx, "requirements_past_due_count > 0", offset=2)
    seen = review.review_of(ctx.store.cursor(), account).last_event  # both open the account: nobody on it yet
    review.start_review(ctx, RISK, account, note="Mine", seen_event=seen)
    with pytest.raises(ActionFailed) as caught:
        review.start_review(ctx, LEAD, account, note="Taking it", seen_event=seen)  # Lee's page is stale
    assert RISK.email in str(caught.value) and "to In review" in str(caught.value)
    assert f"assigned to {RISK.email}" in str(caught.value) and "Nothing was changed" in str(caught.value)
    stored = review.review_of(ctx.store.cursor(), account)
    assert (stored.state, stored.assignee) == ("in_review", RISK.email), "not silently reassigned"
    with pytest.raises(ActionFailed, match=RISK.email):  # a clear on the same stale view is refused too
        actions.clear(ctx, LEAD, account, clock.today() + timedelta(days=5), "Looks fine to me", ["past_due"],
                      seen_event=seen)
    with pytest.raises(ActionFailed, match=f"{RISK.email} holds this case"):  # one reviewer holds a case
        review.start_review(ctx, LEAD, account, note="Taking it", seen_event=stored.last_event)
    review.start_review(ctx, LEAD, account, note="Taking over, agreed with Rita", seen_event=stored.last_event,
                        take_over=True)
    assert review.review_of(ctx.store.cursor(), account).assignee == LEAD.email


def test_an_actioned_account_comes_back_for_its_follow_up(world) -> None:
    ctx, _ = world
    account = _account(ctx, "type IN ('custom', 'express') AND requirements_disabled_reason IS NULL "
                            "AND payout_schedule_interval <> 'manual' AND payouts_enabled")
    review.start_review(ctx, RISK, account)
    actions.pause_payouts(ctx, RISK, actions.plan_pause(ctx, account), "Dispute spike, case RISK-7")
    stored = review.review_of(ctx.store.cursor(), account)
    assert stored.state == "actioned" and stored.cleared_until is not None
    days = (stored.cleared_until - utc_now()).days
    assert 13 <= days <= 14, "a follow-up date, not the end of the case"
    assert review.effective_state(stored, {}, utc_now(), {}).state == "actioned"
    later = stored.cleared_until + timedelta(hours=1)
    back = review.effective_state(stored, {}, later, {})
    assert back.state == "in_review" and back.why.startswith("follow-up due on")
    assert account in refresh_after_sync(ctx.store, now=later)
    again = review.review_of(ctx.store.cursor(), account)
    assert (again.state, again.assignee) == ("in_review", RISK.email)
    assert review.payout_pause(ctx.store.cursor(), account) is not None, "still paused: the follow-up decides"
