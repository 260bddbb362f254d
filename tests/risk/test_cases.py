"""Case basics: a case's age and due date, bulk assign and clear with one note (audited per account), evidence
links in notes (only http(s), never markup)."""
from __future__ import annotations

from datetime import datetime, timedelta

from core import audit, clock
from core.actions import Context
from core.auth import Actor, Role
from core.clock import utc_now
from core.risk import cases, review
from core.risk.queue import QueueFilters, queue, refresh_after_sync, table_rows

RISK = Actor(email="cara@risk.example.com", name="Cara", role=Role.RISK)


def test_evidence_links_are_http_links_only() -> None:
    notes = ["ID checked: https://files.example.com/kyc/123.pdf, and the shop http://shop.example/about?x=1.",
             "[click me](javascript:alert(1)) <a href=\"data:text/html,hi\">x</a> javascript://example.com/%0aalert(1)",
             None, "again https://files.example.com/kyc/123.pdf; tracking https://t.example/a](javascript:alert(2))"]
    assert cases.evidence_links(notes) == ["https://files.example.com/kyc/123.pdf", "http://shop.example/about?x=1",
                                           "https://t.example/a"]
    assert cases.evidence_links(["https://", "http:///nohost", "ftp://files.example.com/a"]) == []


def test_due_dates_and_ages() -> None:
    opened = datetime(2026, 12, 1, 10)
    assert cases.due_at(opened, 20) == datetime(2026, 12, 4, 10), "3 days"
    assert cases.due_at(opened, 60) == datetime(2026, 12, 2, 10), "a severe case: 1 day"
    assert cases.age_text(opened, cases.due_at(opened, 20), datetime(2026, 12, 1, 15)) == ("5 h", "due 2026-12-04")
    assert cases.age_text(opened, cases.due_at(opened, 60), datetime(2026, 12, 4, 12)) == ("3 d", "overdue 2 d")
    assert cases.age_text(None, None, opened) == ("", "")


def _cases(ctx: Context, now: datetime) -> list:
    return queue(ctx.store.cursor(), QueueFilters(review_states=()), now=now, limit=None).rows


def test_cases_get_an_age_and_a_due_date_after_a_sync(world) -> None:
    ctx, _ = world
    now = utc_now()
    before = _cases(ctx, now)
    assert before, "the seed has material cases"
    fresh = [r for r in before if r.review_state == "new" and r.review_event == 0]
    refresh_after_sync(ctx.store, now=now)  # what runs after each sync
    after = {r.account: r for r in _cases(ctx, now)}
    for row in fresh:
        got = after[row.account]
        assert got.opened_at is not None and got.due_at is not None and got.review_state == "new"
        assert got.due_at - got.opened_at in (timedelta(days=1), timedelta(days=3))
        event = review.history(ctx.store.cursor(), row.account)[0]
        assert (event.from_state, event.to_state, event.actor_email) == ("new", "new", review.SYSTEM.email)
        assert event.note.startswith(cases.OPENED) and row.reasons[0] in event.note
    shown = table_rows([after[fresh[0].account]], now=now + timedelta(days=5, minutes=5))[0]
    assert shown["age"] == "5 d" and shown["due"].startswith("overdue")
    refresh_after_sync(ctx.store, now=now)
    assert len(review.history(ctx.store.cursor(), fresh[0].account)) == 1, "opened once"
    # a reviewer whose page was read before the system wrote the opening down is not in conflict with it
    review.start_review(ctx, RISK, fresh[0].account, note="Mine", seen_event=0)


def test_bulk_assign_and_clear_with_one_note_audited_per_account(world) -> None:
    ctx, _ = world
    touched = review.reviews(ctx.store.cursor())  # the world is shared: accounts nobody else has reviewed
    ids = [r[0] for r in ctx.store.cursor().execute(
        "SELECT id FROM connected_accounts WHERE account IS NULL AND type = 'express' "
        "AND requirements_disabled_reason IS NULL ORDER BY id DESC").fetchall() if r[0] not in touched][:3]
    note = "Batch from the chargeback report of 7 December, case RISK-42"
    fresh = {a: review.review_of(ctx.store.cursor(), a).last_event for a in ids[:2]}
    done = cases.bulk_assign(ctx, RISK, fresh, None, note)
    assert all(m == f"In review by {RISK.email}." for m in done.values()), done
    for account in ids[:2]:
        row = audit.entries(ctx.store.cursor(), account_id=account, action=review.AUDIT_ACTION)[0]
        assert row.reason == note and row.actor_email == RISK.email
    seen = {a: ({}, review.review_of(ctx.store.cursor(), a).last_event) for a in ids}
    until = clock.today() + timedelta(days=30)
    cleared = cases.bulk_clear(ctx, RISK, seen, until, note)
    assert [cleared[a].startswith("Cleared until") for a in ids] == [True, True, False], cleared
    assert "Start the review first" in cleared[ids[2]] or "holds" in cleared[ids[2]] or "not changed" in cleared[ids[2]]
    for account in ids[:2]:
        row = audit.entries(ctx.store.cursor(), account_id=account, action="clear_review")[0]
        assert row.reason == note and row.result == "succeeded"
        assert review.review_of(ctx.store.cursor(), account).state == "cleared"
