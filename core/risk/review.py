"""The risk team's review of an account: new -> in review (assignee) -> cleared (until a date) or actioned.

The state lives in DuckDB (`risk_reviews`, one row per account that was ever touched; none means new) and
every change is a `risk_review_events` row with its note (the decision history) and an `audit_log` row,
written in one transaction. A cleared account comes back as new when its clearance expires, or sooner
when a signal fires that was not firing when it was cleared: `effective_state` says so at once on every
read, and `reopen_due` (after each sync) writes that change down like any other, by the system.

Every change needs `action:clear_review` (the review workflow's permission in core/auth.py). Clearing is an
action through core/actions.perform (core/risk/actions.py); starting or reassigning a review is here.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import duckdb
from pydantic import BaseModel

from core import audit
from core.actions import ActionFailed, Context
from core.auth import Actor, PermissionDenied, Role, require
from core.clock import utc_now
from core.mirror.store import Store

STATES = ("new", "in_review", "cleared", "actioned")
STATE_LABELS = {"new": "New", "in_review": "In review", "cleared": "Cleared", "actioned": "Actioned"}
OPEN_STATES = ("new", "in_review")
PERMISSION = "action:clear_review"
AUDIT_ACTION = "risk_review"
# Who writes the changes nobody clicked (a clearance that expired, a new signal): named in the audit log.
SYSTEM = Actor(email="risk-queue@connect-ops.local", name="Connect Ops (automatic)", role=Role.RISK)


class Review(BaseModel):
    account_id: str
    state: str = "new"
    assignee: str | None = None
    cleared_until: datetime | None = None
    cleared_signals: list[str] = []
    updated_at: datetime | None = None
    updated_by: str | None = None
    last_event: int = 0  # 0: never reviewed


class ReviewEvent(BaseModel):
    id: int
    account_id: str
    occurred_at: datetime
    actor_email: str
    from_state: str
    to_state: str
    assignee: str | None
    cleared_until: datetime | None
    note: str | None
    audit_id: int | None


class Effective(BaseModel):
    """The state to show and act on: the stored one, unless a clearance has lapsed (then `why` says how)."""

    state: str
    why: str | None = None


_REVIEW_COLUMNS = ("account_id", "state", "assignee", "cleared_until", "cleared_signals", "updated_at", "updated_by",
                   "last_event")


def _has_tables(db: duckdb.DuckDBPyConnection) -> bool:
    """False on a mirror written before migration 7 and opened read-only (the CLI): nobody reviewed anything."""
    return bool(db.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'risk_reviews'").fetchall()[0][0])


def reviews(db: duckdb.DuckDBPyConnection) -> dict[str, Review]:
    """Every account's stored review (accounts never touched are absent: new)."""
    if not _has_tables(db):
        return {}
    rows = db.execute(f"SELECT {', '.join(_REVIEW_COLUMNS)} FROM risk_reviews").fetchall()
    return {r[0]: Review(**dict(zip(_REVIEW_COLUMNS, r), cleared_signals=r[4] or [])) for r in rows}


def review_of(db: duckdb.DuckDBPyConnection, account_id: str) -> Review:
    if not _has_tables(db):
        return Review(account_id=account_id)
    row = db.execute(f"SELECT {', '.join(_REVIEW_COLUMNS)} FROM risk_reviews WHERE account_id = ?",
                     [account_id]).fetchall()
    if not row:  # (every read fetches to the end: DuckDB will not run the next one on an unfinished result)
        return Review(account_id=account_id)
    return Review(**dict(zip(_REVIEW_COLUMNS, row[0]), cleared_signals=row[0][4] or []))


def history(db: duckdb.DuckDBPyConnection, account_id: str) -> list[ReviewEvent]:
    """The decision history, newest first: every state change with who, when and the note that went with it."""
    if not _has_tables(db):
        return []
    result = db.execute("""SELECT id, account_id, occurred_at, actor_email, from_state, to_state, assignee,
                                  cleared_until, note, audit_id
                           FROM risk_review_events WHERE account_id = ? ORDER BY id DESC""", [account_id])
    names = [d[0] for d in result.description]
    return [ReviewEvent(**dict(zip(names, row))) for row in result.fetchall()]


Firing = Iterable[str] | Mapping[str, float]  # the signals firing now, with their points where known
WORSE_BY = 2.0  # points a signal must gain over what it had when cleared to reopen it (not the windows' drift)


def _points(firing: Firing) -> dict[str, float | None]:
    return dict(firing) if isinstance(firing, Mapping) else dict.fromkeys(firing)


def encode_signals(firing: Firing) -> list[str]:
    """What a clearance remembers of each signal: 'dispute_activity:2.8' (its points then), or the name alone."""
    return [name if points is None else f"{name}:{points:g}" for name, points in sorted(_points(firing).items())]


def _remembered(review: Review) -> dict[str, float | None]:
    found: dict[str, float | None] = {}
    for item in review.cleared_signals:
        name, _, points = item.partition(":")
        found[name] = float(points) if points else None
    return found


def effective_state(review: Review | None, firing: Firing, now: datetime, labels: dict[str, str]) -> Effective:
    """Cleared stays cleared until its date, and only while no signal fires that did not fire when it was cleared
    and none is worse than it was then (more than WORSE_BY points more). An action's follow-up date brings an
    actioned account back into review."""
    if review is None:
        return Effective(state="new")
    if review.state == "actioned" and review.cleared_until is not None and review.cleared_until <= now:
        return Effective(state="in_review", why=f"follow-up due on {review.cleared_until:%Y-%m-%d}")
    if review.state != "cleared":
        return Effective(state=review.state)
    if review.cleared_until is not None and review.cleared_until <= now:
        return Effective(state="new", why=f"clearance expired on {review.cleared_until:%Y-%m-%d}")
    then, current = _remembered(review), _points(firing)
    fresh = [s for s in current if s not in then]
    if fresh:
        named = ", ".join(labels.get(s, s) for s in fresh)
        return Effective(state="new", why=f"new signal since it was cleared: {named}")
    worse = [(s, then[s], p) for s, p in current.items()
             if p is not None and then.get(s) is not None and p > (then[s] or 0) + WORSE_BY]
    if worse:
        named = ", ".join(f"{labels.get(s, s)} ({was:g} to {now_:g} points)" for s, was, now_ in worse)
        return Effective(state="new", why=f"worse since it was cleared: {named}")
    return Effective(state="cleared")


def write_change(conn: duckdb.DuckDBPyConnection, actor: Actor, account_id: str, before: Review, to_state: str, *,
                 note: str | None, audit_id: int | None, assignee: str | None = None,
                 cleared_until: datetime | None = None, cleared_signals: Iterable[str] = ()) -> int:
    """One state change (inside the caller's transaction, beside its audit row): the event, then the row."""
    if to_state not in STATES:
        raise ValueError(to_state)
    now = utc_now()
    event = conn.execute(
        """INSERT INTO risk_review_events (account_id, occurred_at, actor_email, from_state, to_state, assignee,
                                           cleared_until, note, audit_id)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
        [account_id, now, actor.email, before.state, to_state, assignee, cleared_until, note, audit_id],
    ).fetchall()[0][0]
    conn.execute(
        """INSERT INTO risk_reviews VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (account_id) DO UPDATE SET state = excluded.state, assignee = excluded.assignee,
               cleared_until = excluded.cleared_until, cleared_signals = excluded.cleared_signals,
               updated_at = excluded.updated_at, updated_by = excluded.updated_by, last_event = excluded.last_event""",
        [account_id, to_state, assignee, cleared_until, list(cleared_signals), now, actor.email, event])
    return int(event)


def guard(ctx: Context, actor: Actor, action: str, account_id: str, params: dict[str, Any] | None = None,
          permission: str | None = None) -> None:
    """The permission check, first in every risk change (before anything about the account is read, so a refusal
    tells nothing about its state): a refusal gets its `denied` audit row, then is raised."""
    try:
        require(actor, permission or f"action:{action}")
    except PermissionDenied as exc:
        with ctx.store.transaction() as conn:
            audit.record(conn, actor, action, account_id=account_id, target_id=account_id, params=params or {},
                         reason=None, result="denied", error=str(exc))
        raise


def _account_exists(db: duckdb.DuckDBPyConnection, account_id: str) -> None:
    if db.execute("SELECT count(*) FROM connected_accounts WHERE id = ? AND account IS NULL",
                  [account_id]).fetchall()[0][0] == 0:
        raise ActionFailed(f"No connected account {account_id} in the synced data.")


def conflict(db: duckdb.DuckDBPyConnection, actor: Actor, account_id: str, seen_event: int | None) -> None:
    """Refuse a change made on a stale view: someone else changed the review after `seen_event` (the review's
    last event when this person looked; None: no view to compare, as in scripts). Says who changed what."""
    if seen_event is None:
        return
    newer = [e for e in history(db, account_id) if e.id > seen_event and e.actor_email != actor.email
             and (e.from_state, e.to_state) != ("new", "new")]  # a case written down as opened changes nothing
    if not newer:
        return
    e = newer[0]
    held = f", assigned to {e.assignee}" if e.assignee else ""
    raise ActionFailed(f"{e.actor_email} changed this review on {e.occurred_at:%Y-%m-%d %H:%M} UTC after you opened "
                       f"it ({STATE_LABELS[e.from_state]} to {STATE_LABELS[e.to_state]}{held}). Nothing was changed: "
                       "look at it again, then decide.")


def start_review(ctx: Context, actor: Actor, account_id: str, assignee: str | None = None,
                 note: str | None = None, *, firing: Firing = (), now: datetime | None = None,
                 seen_event: int | None = None, take_over: bool = False) -> str:
    """Take an account into review (or hand it to someone else); the assignee defaults to the actor. One reviewer
    holds a case: taking one someone else holds needs `take_over`. With `seen_event` (the review's last event as
    the person saw it), a change someone else made since is refused."""
    guard(ctx, actor, AUDIT_ACTION, account_id, {"to": "in_review", "assignee": assignee}, PERMISSION)
    _account_exists(ctx.store.cursor(), account_id)
    who = (assignee or actor.email).strip()
    if not who or len(who) > 200:
        raise ActionFailed("The assignee must be an email address (at most 200 characters).")
    text = (note or "").strip() or None
    if text and len(text) > 5000:
        raise ActionFailed("Notes are limited to 5,000 characters.")
    conflict(ctx.store.cursor(), actor, account_id, seen_event)
    before = review_of(ctx.store.cursor(), account_id)
    current = effective_state(before, firing, now or utc_now(), {}).state
    if current == "in_review" and before.assignee == who:
        raise ActionFailed(f"Already in review by {who}.")
    if current == "in_review" and before.assignee not in (None, actor.email) and not take_over:
        raise ActionFailed(f"{before.assignee} holds this case; take it over explicitly to change who has it.")
    with ctx.store.transaction() as conn:
        conflict(conn, actor, account_id, seen_event)  # again, where the write is: nobody slips in between
        if review_of(conn, account_id).last_event != before.last_event:
            raise ActionFailed("The review changed while this was being saved; look at it again.")
        audit_id = audit.record(conn, actor, AUDIT_ACTION, account_id=account_id, target_id=account_id,
                                params={"from": current, "to": "in_review", "assignee": who}, reason=text,
                                result="succeeded")
        write_change(conn, actor, account_id, before.model_copy(update={"state": current}), "in_review",
                     note=text, audit_id=audit_id, assignee=who)
    return f"In review by {who}."


def reopen_due(store: Store, firing: Mapping[str, Firing], now: datetime, labels: dict[str, str]) -> list[str]:
    """Write down every cleared account that has come back (its clearance expired, or a new signal fired):
    state new, an event and an audit row by SYSTEM. Returns the accounts reopened."""
    reopened = []
    for account_id, before in reviews(store.cursor()).items():
        seen = effective_state(before, firing.get(account_id, []), now, labels)
        if seen.state == before.state or before.state not in ("cleared", "actioned"):
            continue
        with store.transaction() as conn:
            audit_id = audit.record(conn, SYSTEM, AUDIT_ACTION, account_id=account_id, target_id=account_id,
                                    params={"from": before.state, "to": seen.state}, reason=seen.why,
                                    result="succeeded")
            write_change(conn, SYSTEM, account_id, before, seen.state, note=seen.why, audit_id=audit_id,
                         assignee=before.assignee if seen.state == "in_review" else None)
        reopened.append(account_id)
    return reopened


def payout_pause(db: duckdb.DuckDBPyConnection, account_id: str) -> dict[str, Any] | None:
    """How Connect Ops paused this account's payouts, if it did (core/risk/actions.py writes it)."""
    if not _has_tables(db):
        return None
    result = db.execute("SELECT * FROM risk_payout_pauses WHERE account_id = ?", [account_id])
    rows = result.fetchall()
    return dict(zip([d[0] for d in result.description], rows[0])) if rows else None


def paused_accounts(db: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Account -> how its payouts were paused, for every pause Connect Ops holds."""
    if not _has_tables(db):
        return {}
    return dict(db.execute("SELECT account_id, method FROM risk_payout_pauses").fetchall())
