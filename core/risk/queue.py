"""The risk queue: every connected account scored, ranked, filtered, with its review state; and one account's
risk view. The page (pages/risk.py) and `connect-ops risk-queue` both read it from here.

    page = queue(cursor, QueueFilters(signals=("dispute_activity",), country=("US",)))
    page.rows[0].score, page.rows[0].reasons, page.rows[0].review_state
    queue_csv(page.rows) / queue_json(page.rows)

Measuring every account reads the big tables (1.8M charges at the large demo), so the assessments are
computed once per database and data version (row count and newest `synced_at` of each table they read: every
sync and every action moves one of them) and hour, and kept in-process; `refresh_after_sync` computes them
right after each sync, so no page waits for them, and writes down the accounts whose clearance has lapsed.
Review states are small and read fresh on every call. Nothing here imports Streamlit.
"""
from __future__ import annotations

import json
import logging
import threading
from datetime import datetime
from typing import Any

import duckdb
from pydantic import BaseModel, ConfigDict

from core import audit
from core.account_status import LABELS
from core.clock import utc_now
from core.export import csv_text
from core.mirror.store import Store
from core.money import format_amounts
from core.risk import cases, review, rules
from core.risk.score import SIGNALS, Assessment, Finding, assess
from core.risk.signals import (
    AccountMetrics,
    DisputeMonth,
    MonthRow,
    account_metrics,
    story,
)

log = logging.getLogger(__name__)
TYPES = ("custom", "express", "standard")
PAGE_LIMIT = 200


class QueueFilters(BaseModel):
    """What the queue shows. Every filter optional; hashable (pages cache on it)."""

    model_config = ConfigDict(frozen=True)

    signals: tuple[str, ...] = ()                          # any of these fires (score.SIGNALS keys)
    country: tuple[str, ...] = ()
    type: tuple[str, ...] = ()
    review_states: tuple[str, ...] = review.OPEN_STATES    # effective states; () for every state
    assignees: tuple[str, ...] = ()                        # exact emails
    min_score: int = 1                                     # 1: something fires
    lanes: tuple[str, ...] = ("case",)                     # case, watch, rejected (see `lane`); () for all


class QueueRow(BaseModel):
    account: str
    business_name: str | None
    email: str | None
    country: str | None
    type: str | None
    status: str
    score: int
    findings: list[Finding]
    review_state: str
    review_why: str | None = None     # why a cleared account is back
    assignee: str | None
    cleared_until: datetime | None
    payouts_paused: str | None        # how Connect Ops paused them, if it did
    volume_recent: dict[str, int]     # currency -> minor units, the recent window (never summed across currencies)
    dispute_activity: DisputeMonth | None
    metrics: AccountMetrics
    lane: str = "case"                # case (material), watch (something fires, not material), rejected
    opened_at: datetime | None = None  # when the current case entered the queue (written after each sync)
    review_event: int = 0              # the review's last event as read: what a change made from this row saw
    due_at: datetime | None = None

    @property
    def reasons(self) -> list[str]:
        return [f.reason for f in self.findings]

    @property
    def signals(self) -> list[str]:
        return [f.signal for f in self.findings]


class QueuePage(BaseModel):
    rows: list[QueueRow]
    total: int            # accounts matching the filters (every row, not just `rows`)
    accounts: int         # every connected account assessed
    measured_at: datetime


# --------------------------------------------------------------------------- assessments, once per data version

_TABLES = ("connected_accounts", "charges", "disputes", "payouts", "balance_transactions", "transfers", "refunds",
           "early_fraud_warnings")


def _version_sql(db: duckdb.DuckDBPyConnection) -> str:
    """The data version's query, over the tables this mirror has (an old one opened read-only may lack some)."""
    present = {r[0] for r in db.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    return ("SELECT (SELECT path FROM duckdb_databases() WHERE database_name = current_database()), "
            + ", ".join(f"(SELECT count(*) FROM {t}), (SELECT max(synced_at) FROM {t})"
                        for t in _TABLES if t in present))
_CACHE: dict[tuple[Any, ...], list[tuple[AccountMetrics, Assessment]]] = {}
_LOCK = threading.Lock()


def points(a: Assessment) -> dict[str, float]:
    """The signals firing and their points: what a clearance remembers, and what reopens it when worse."""
    return {f.signal: f.points for f in a.findings}


def _assignee(stored: review.Review | None, seen: review.Effective) -> str | None:
    """Who holds the review as it is seen (a lapsed clearance is new again, with nobody on it)."""
    if stored is None or (seen.state != stored.state and seen.state != "in_review"):
        return None
    return stored.assignee


def measuring_time(now: datetime | None = None) -> datetime:
    """When the numbers are taken: `now` as given, or this hour (UTC), so they are reused within it."""
    return now or utc_now().replace(minute=0, second=0, microsecond=0)


def assessed(db: duckdb.DuckDBPyConnection, now: datetime | None = None) -> list[tuple[AccountMetrics, Assessment]]:
    """Every account's numbers and assessment, highest score first; computed once per data version and hour."""
    at = measuring_time(now)
    row = db.execute(_version_sql(db)).fetchall()[0]
    key = (row[0] or f"memory:{id(db)}", *row[1:], at)
    with _LOCK:
        found = _CACHE.get(key)
    if found is None:
        found = [(m, assess(m)) for m in account_metrics(db, at)]
        found.sort(key=lambda pair: (-pair[1].score, pair[0].id))
        with _LOCK:
            for old in [k for k in _CACHE if k[0] == key[0]]:
                del _CACHE[old]
            _CACHE[key] = found
    return found


def refresh_after_sync(store: Store, now: datetime | None = None) -> list[str]:
    """After each sync: assess every account now (so the page does not wait) and write down the cleared
    accounts that have come back. Returns those accounts. Never raises: the sync itself succeeded."""
    try:
        pairs = assessed(store.cursor(), now)
        firing = {m.id: points(a) for m, a in pairs}
        reopened = review.reopen_due(store, firing, now or utc_now(), SIGNALS)
        cases.open_cases(store, {m.id: a.reasons[0] for m, a in pairs if lane(m, a) == "case"})
        return reopened
    except Exception:  # a bug here must not turn a good sync into a failed one; the page recomputes
        log.exception("risk queue refresh after sync failed")
        return []


# --------------------------------------------------------------------------- the queue


LANES = ("case", "watch", "rejected")


def material(a: Assessment, on: datetime) -> bool:
    """A case for the queue: a score from rules' queue_score, or one signal of severe_points or more."""
    day = on.date()
    return a.score >= rules.value(day, "queue_score") or any(f.points >= rules.value(day, "severe_points")
                                                             for f in a.findings)


def lane(m: AccountMetrics, a: Assessment) -> str:
    """Where an account is listed: rejected accounts leave the queue (their exposure stays on their page)."""
    if (m.disabled_reason or "").startswith("rejected."):
        return "rejected"
    return "case" if material(a, m.now) else "watch"


def _row(m: AccountMetrics, a: Assessment, stored: review.Review | None, seen: review.Effective,
         paused: str | None, opened: datetime | None) -> QueueRow:
    if seen.state not in review.OPEN_STATES:
        opened = None  # a closed case has no age
    elif opened is None and stored is not None and seen.why and stored.updated_at is not None:
        opened = stored.updated_at  # reopened on read (a clearance lapsed), not yet written down
    return QueueRow(
        opened_at=opened, due_at=cases.due_at(opened, a.score) if opened else None,
        review_event=stored.last_event if stored else 0,
        account=m.id, business_name=m.business_name, email=m.email, country=m.country, type=m.type, status=m.status,
        score=a.score, findings=a.findings, review_state=seen.state, review_why=seen.why,
        assignee=_assignee(stored, seen),
        cleared_until=stored.cleared_until if stored and seen.state == "cleared" else None, payouts_paused=paused,
        volume_recent={v.currency: v.recent for v in m.volumes if v.recent}, dispute_activity=m.worst_month, metrics=m,
        lane=lane(m, a))


def _keep(filters: QueueFilters, m: AccountMetrics, a: Assessment, state: str, assignee: str | None) -> bool:
    return ((not filters.lanes or lane(m, a) in filters.lanes) and a.score >= filters.min_score
            and (not filters.signals or any(s in filters.signals for s in a.signals))
            and (not filters.country or m.country in filters.country)
            and (not filters.type or m.type in filters.type)
            and (not filters.review_states or state in filters.review_states)
            and (not filters.assignees or assignee in filters.assignees))


def queue(db: duckdb.DuckDBPyConnection, filters: QueueFilters, now: datetime | None = None,
          limit: int | None = PAGE_LIMIT) -> QueuePage:
    """The accounts matching the filters, highest score first (then by id), and how many there are."""
    pairs = assessed(db, now)
    stored = review.reviews(db)
    paused = review.paused_accounts(db)
    opened = cases.opened_at(db)
    when = now or utc_now()
    rows: list[QueueRow] = []
    total = 0
    for m, a in pairs:
        mine = stored.get(m.id)
        seen = review.effective_state(mine, points(a), when, SIGNALS)
        assignee = _assignee(mine, seen)
        if not _keep(filters, m, a, seen.state, assignee):
            continue
        total += 1
        if limit is None or len(rows) < limit:
            rows.append(_row(m, a, mine, seen, paused.get(m.id), opened.get(m.id)))
    return QueuePage(rows=rows, total=total, accounts=len(pairs), measured_at=measuring_time(now))


def choices(db: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """What the filters offer: countries of the accounts, and everyone who has been assigned a review."""
    countries = [r[0] for r in db.execute("SELECT DISTINCT country FROM connected_accounts WHERE account IS NULL "
                                          "AND country IS NOT NULL ORDER BY 1").fetchall()]
    assignees = sorted({r.assignee for r in review.reviews(db).values() if r.assignee})
    return {"country": countries, "assignee": assignees}


def _pct(ratio: float | None) -> str:
    return "" if ratio is None else f"{ratio * 100:.2f}%"


def activity_text(month: DisputeMonth | None) -> str:
    """'2.41% Nov 2026 (12/498)': the worst recent month of dispute activity, as the table shows it (with no
    settled charge that month there is no ratio: '- Nov 2026 (1/0)')."""
    if month is None:
        return ""
    return f"{_pct(month.ratio) or '-'} {month.month:%b %Y} ({month.disputes}/{month.settled})"


def _per_currency(items: list[tuple[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for currency, amount in items:
        total[currency] = total.get(currency, 0) + amount
    return total


def exposure(m: AccountMetrics) -> str:
    """What a rejected (or any) account still exposes the platform to: its balance, open disputes and pending
    refunds, per currency (never summed across currencies). Empty when nothing is left."""
    parts = []
    if m.balances:
        parts.append(f"balance {format_amounts(m.balances)}")
    for items, word in ((m.open_disputes, "open dispute"), (m.pending_refunds, "pending refund")):
        if items:
            parts.append(f"{len(items)} {word}{'s' if len(items) > 1 else ''} ({format_amounts(_per_currency(items))})")
    return "; ".join(parts)


def reject_refused(m: AccountMetrics) -> str | None:
    """Why the platform may not reject this account (core/risk/actions.may_reject reads the same facts)."""
    from core.risk.actions import may_reject  # (actions imports the Stripe client: only when asked)

    return may_reject({"type": m.type, "losses": m.losses_payments or "application"})


def table_rows(rows: list[QueueRow], now: datetime | None = None) -> list[dict[str, Any]]:
    """Rows for the page's table (merchant-written names are shown by the page as text, never markup)."""
    when = now or utc_now()
    return [{"score": r.score, "reasons": " · ".join(r.reasons[:2]), "status": LABELS.get(r.status, r.status),
             "business_name": r.business_name, "account": r.account, "country": r.country, "type": r.type,
             "volume_30d": format_amounts(r.volume_recent), "dispute_activity": activity_text(r.dispute_activity),
             "review": review.STATE_LABELS[r.review_state], "assignee": r.assignee or "",
             "exposure": exposure(r.metrics),
             **dict(zip(("age", "due"), cases.age_text(r.opened_at, r.due_at, when)))} for r in rows]


CSV_COLUMNS = ("account", "score", "review_state", "assignee", "cleared_until", "business_name", "email", "status",
               "country", "type", "signals", "reasons", "dispute_activity", "dispute_month", "disputes_in_month",
               "settled_in_month", "dispute_rate", "refund_rate", "risky_share", "failed_payouts", "shared_with",
               "payouts_paused")


def measures(m: AccountMetrics) -> dict[str, Any]:
    """The numbers behind the signals, for the CSV and JSON exports (money per currency in minor units)."""
    def ratio(events: int, of: int) -> float | None:
        return round(events / of, 6) if of else None

    month = m.worst_month
    return {"dispute_activity": round(month.ratio, 6) if month and month.ratio is not None else None,
            "dispute_month": month.month.isoformat() if month else None,
            "disputes_in_month": month.disputes if month else None,
            "settled_in_month": month.settled if month else None,
            "inquiries_in_month": month.inquiries if month else None, "inquired": m.inquired,
            "dispute_rate": ratio(m.disputed, m.settled), "refund_rate": ratio(m.refunded, m.settled),
            "risky_share": ratio(m.risky, m.attempts), "settled_charges": m.settled, "charge_attempts": m.attempts,
            "recent_charges": m.recent_charges, "baseline_charges": m.baseline_charges,
            "volume_recent": {v.currency: v.recent for v in m.volumes},
            "volume_baseline": {v.currency: v.baseline for v in m.volumes},
            "failed_payouts": m.failed_payouts, "negative_balances": m.negative_balances,
            "shared_with": m.shared_with, "shared_with_rejected": m.shared_with_rejected,
            "requirements_past_due": m.past_due, "disabled_reason": m.disabled_reason,
            "balances": m.balances, "open_disputes": len(m.open_disputes), "pending_refunds": len(m.pending_refunds),
            "age_days": None if m.age_days is None else round(m.age_days, 1)}


def queue_csv(rows: list[QueueRow]) -> str:
    """The queue for a spreadsheet: what the page shows, the numbers behind it, and one minor-units column
    per currency of recent volume (merchant text made inert by core/export.py)."""
    currencies = sorted({c for r in rows for c in r.volume_recent})

    def cells(r: QueueRow) -> list[Any]:
        data = {**measures(r.metrics), "account": r.account, "score": r.score, "review_state": r.review_state,
                "assignee": r.assignee, "cleared_until": r.cleared_until, "business_name": r.business_name,
                "email": r.email, "status": r.status, "country": r.country, "type": r.type,
                "signals": " ".join(r.signals), "reasons": " | ".join(r.reasons),
                "shared_with": " ".join(r.metrics.shared_with), "payouts_paused": r.payouts_paused}
        return [*(data[c] for c in CSV_COLUMNS), *(r.volume_recent.get(c, "") for c in currencies)]

    return csv_text([*CSV_COLUMNS, *(f"volume_recent_{c}_minor" for c in currencies)], (cells(r) for r in rows))


def queue_json(rows: list[QueueRow]) -> str:
    """An array ordered by score, highest first: account, score, reasons, review_state and the signal values."""
    return json.dumps([{
        "account": r.account, "score": r.score, "reasons": r.reasons, "review_state": r.review_state,
        "assignee": r.assignee, "status": r.status, "country": r.country, "type": r.type,
        "business_name": r.business_name,
        "signals": {f.signal: {"points": f.points, "value": f.value} for f in r.findings},
        "values": measures(r.metrics)} for r in rows], ensure_ascii=False, indent=1, default=str) + "\n"


# --------------------------------------------------------------------------- one account


class AccountRisk(BaseModel):
    """Everything the risk view of one account shows."""

    metrics: AccountMetrics
    assessment: Assessment
    stored_review: review.Review
    effective: review.Effective
    history: list[review.ReviewEvent]
    notes: list[audit.Note]
    months: list[MonthRow]
    disputes: list[dict[str, Any]]
    refunds: list[dict[str, Any]]
    linked: list[dict[str, Any]]
    payout_pause: dict[str, Any] | None
    exposure: str = ""                 # balance, open disputes, pending refunds (what a rejection leaves)
    reject_refused: str | None = None  # why the platform may not reject it, if it may not


def account_risk(db: duckdb.DuckDBPyConnection, account_id: str, now: datetime | None = None) -> AccountRisk | None:
    """The account's assessment (from the queue's, so they agree), its review, history, charts and links."""
    pairs = {m.id: (m, a) for m, a in assessed(db, now)}
    if account_id not in pairs:
        return None
    m, a = pairs[account_id]
    stored = review.review_of(db, account_id)
    when = now or utc_now()
    told = story(db, account_id, m.now, m.shared_with)
    return AccountRisk(
        metrics=m, assessment=a, stored_review=stored,
        effective=review.effective_state(stored if stored.last_event else None, points(a), when, SIGNALS),
        history=review.history(db, account_id), notes=audit.notes(db, account_id), months=told.months,
        disputes=told.disputes, refunds=told.refunds, linked=told.linked,
        payout_pause=review.payout_pause(db, account_id), exposure=exposure(m), reject_refused=reject_refused(m))
