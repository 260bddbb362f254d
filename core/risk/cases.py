"""Case basics every risk tool has: when a case opened and when it is due, bulk assign and clear (one reason,
audited per account), and the evidence links in notes.

A case opens when an account first becomes material (core/risk/queue.material): after each sync the system
writes that down for accounts nobody has reviewed yet (an event and an audit row, like every change), so each
case has an age. Its due date is its opening plus `case_due_days`, or `case_due_days_severe` from a score of
`severe_score` (core/risk/rules.py). A case reopened (a clearance lapsed, a follow-up came due) opens again.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

import duckdb

from core import audit
from core.actions import ActionFailed, Context
from core.auth import Actor, PermissionDenied
from core.mirror.store import Store
from core.risk import review, rules

OPENED = "Entered the queue: "

# The latest event that opened the current case: into new or in review from a closed state, or the first.
OPENED_SQL = """
SELECT account_id, max(occurred_at) AS opened_at FROM (
    SELECT account_id, occurred_at, to_state, from_state,
           row_number() OVER (PARTITION BY account_id ORDER BY id) AS n
    FROM risk_review_events)
WHERE to_state IN ('new', 'in_review') AND (n = 1 OR from_state NOT IN ('new', 'in_review'))
GROUP BY 1"""


def open_cases(store: Store, cases: Mapping[str, str]) -> list[str]:
    """Write down, for each material account nobody has reviewed, that its case opened now (with its top
    reason), in one transaction. Returns the accounts opened."""
    known = review.reviews(store.cursor())
    fresh = [(account, why) for account, why in sorted(cases.items()) if account not in known]
    if not fresh:
        return []
    with store.transaction() as conn:
        for account, why in fresh:
            audit_id = audit.record(conn, review.SYSTEM, review.AUDIT_ACTION, account_id=account, target_id=account,
                                    params={"from": "new", "to": "new", "opened": True}, reason=why[:500],
                                    result="succeeded")
            review.write_change(conn, review.SYSTEM, account, review.Review(account_id=account), "new",
                                note=(OPENED + why)[:5000], audit_id=audit_id)
    return [account for account, _ in fresh]


def opened_at(db: duckdb.DuckDBPyConnection) -> dict[str, datetime]:
    """When each account's current case opened (accounts never written down are absent)."""
    if not db.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'risk_review_events'").fetchall()[0][0]:
        return {}
    return dict(db.execute(OPENED_SQL).fetchall())


def due_at(opened: datetime, score: int) -> datetime:
    """When a case opened at `opened` with this score is due (severe cases sooner)."""
    day = opened.date()
    days = rules.value(day, "case_due_days_severe") if score >= rules.value(day, "severe_score") \
        else rules.value(day, "case_due_days")
    return opened + timedelta(days=days)


def age_text(opened: datetime | None, due: datetime | None, now: datetime) -> tuple[str, str]:
    """('3 d', 'overdue 1 d') / ('5 h', 'due 2026-12-09'): a case's age and due date as the table shows them."""
    if opened is None or due is None:
        return "", ""
    hours = max(0, int((now - opened).total_seconds() // 3600))
    age = f"{hours // 24} d" if hours >= 24 else f"{hours} h"
    if due <= now:
        return age, f"overdue {max(1, (now - due).days)} d" if (now - due).days else "overdue"
    return age, f"due {due:%Y-%m-%d}"


def bulk_assign(ctx: Context, actor: Actor, accounts: Mapping[str, int], assignee: str | None,
                note: str) -> dict[str, str]:
    """Take (or hand) many accounts into review with one note; each is its own change with its own audit row.
    `accounts` maps each account to the review event its person saw. Returns each account's outcome."""
    outcome: dict[str, str] = {}
    for account, seen in accounts.items():
        try:
            outcome[account] = review.start_review(ctx, actor, account, assignee, note, seen_event=seen)
        except (ActionFailed, PermissionDenied) as exc:
            outcome[account] = f"not changed: {exc}"
    return outcome


def bulk_clear(ctx: Context, actor: Actor, accounts: Mapping[str, tuple[review.Firing, int]], until: date,
               note: str) -> dict[str, str]:
    """Clear many accounts in review until one date with one note; each is its own action with its own audit
    row (core/risk/actions.clear). `accounts` maps each to (its firing signals, the event its person saw)."""
    from core.risk.actions import clear  # (actions imports the Stripe client: only when asked)

    outcome: dict[str, str] = {}
    for account, (firing, seen) in accounts.items():
        try:
            outcome[account] = clear(ctx, actor, account, until, note, firing, seen_event=seen).message
        except (ActionFailed, PermissionDenied) as exc:
            outcome[account] = f"not changed: {exc}"
    return outcome


_URL = re.compile(r"https?://[^\s<>\"'`()\[\]{}|\\^]+", re.IGNORECASE)


def evidence_links(texts: Iterable[str | None]) -> list[str]:
    """The http(s) links in notes, each once, for the page to show as links (their text is the URL itself; any
    other scheme, `javascript:` or `data:`, is never a link). Trailing punctuation is not part of a link."""
    found: list[str] = []
    for text in texts:
        for match in _URL.finditer(text or ""):
            url = match.group(0).rstrip(".,;:!?")
            parts = urlsplit(url)
            if parts.scheme.lower() in ("http", "https") and parts.hostname and url not in found:
                found.append(url)
    return found
