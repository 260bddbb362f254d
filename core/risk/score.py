"""From an account's numbers to a score of 0-100 and its reasons, each a sentence with the numbers in it.

Each signal that fires adds points: its weight (below, as data) times its severity times its evidence.
For the ratios (disputes, refunds, risky charges) the severity is how far past its line the *lower
confidence bound* of the ratio is (core/risk/months.wilson_lower; at the line nothing beyond a floor,
at `full_at` times the line all of it, on a log scale), and the evidence grows with the count of events (log
scale, all of it at `evidence` events). A ratio fires only from a minimum count (rules: min_disputes,
min_events), shown in the reason. So one dispute on three sales does not fire, and 500 of 5,000 outranks
3 of 200. The card networks' own lines (Visa's VAMP on Visa card-not-present sales, Mastercard's ECM/HECM on
last month's Mastercard sales) add their own points, fully only where the program would count the merchant.
The score is the sum, capped at 100; the reasons are sorted by the points they
added. Nothing here reads the database: `assess(metrics)` is a pure function.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta

from pydantic import BaseModel, ConfigDict

from core.account_status import explain_disabled_reason
from core.money import format_amount, format_amounts
from core.risk import rules
from core.risk.months import DisputeMonth, wilson_lower
from core.risk.rules import Rule
from core.risk.signals import AccountMetrics

# Signal keys and their names on the page (the queue's "signal" filter).
SIGNALS: dict[str, str] = {
    "dispute_activity": "Dispute activity", "dispute_rate": "Dispute rate", "refund_rate": "Refund rate",
    "risky_charges": "Risky charges", "past_due": "Requirements past due", "deadline_soon": "Requirements due soon",
    "disabled": "Account disabled", "volume_spike": "Volume spike", "young_high_volume": "Young account, high volume",
    "volume_drop": "Volume drop", "failed_payouts": "Failed payouts", "negative_balance": "Negative balance",
    "shared_bank": "Shared bank account", "network_program": "Card network program",
}


class Weight(BaseModel):
    """How much a signal adds to the score, and why that much."""

    model_config = ConfigDict(frozen=True)

    key: str
    points: float          # at full strength
    full_at: float = 1.0   # multiple of its line where it reaches full strength (at the line: 1 / full_at)
    evidence: int = 1      # events for full strength; fewer give less (linear; log scale for the ratios)
    floor: float = 0.0     # ratios: the share of points when the ratio is past its line but its lower bound is not
    why: str


WEIGHTS: dict[str, Weight] = {w.key: w for w in (
    Weight(key="dispute_activity", points=35, full_at=10, evidence=30, floor=0.2,
           why="What the networks monitor and fine; full when its lower bound is 10 times Stripe's 0.75% and there "
               "are 30 disputes."),
    Weight(key="dispute_rate", points=20, full_at=10, evidence=30, floor=0.2,
           why="Disputes on the charges of the last year: a pattern, where activity is one month."),
    Weight(key="network_program", points=25, full_at=2, evidence=1,
           why="Past a card network's own line on its own count: fines and enrolment follow; in proportion to the "
               "program's count floor where the merchant is below it."),
    Weight(key="refund_rate", points=15, full_at=3, evidence=30, floor=0.2,
           why="Refunding many orders often comes before disputes (goods not delivered)."),
    Weight(key="risky_charges", points=20, full_at=3, evidence=30, floor=0.2,
           why="Radar's own view of the buyers this merchant attracts."),
    Weight(key="past_due", points=10, full_at=2,
           why="Stripe has already restricted the account; verification may be failing on purpose."),
    Weight(key="deadline_soon", points=5,
           why="Will be restricted soon unless the merchant acts; worth a look, rarely fraud."),
    Weight(key="volume_spike", points=15, full_at=2, evidence=5,
           why="A sudden surge is how bust-out fraud starts."),
    Weight(key="young_high_volume", points=15, full_at=2,
           why="High volume before any track record: the platform carries the loss if it goes bad."),
    Weight(key="volume_drop", points=10,
           why="Sharply reduced volume (Stripe lists it among riskier accounts): refunds and disputes may outrun "
               "sales."),
    Weight(key="failed_payouts", points=10, full_at=2,
           why="A bank account that bounces payouts is closed or not the merchant's."),
    Weight(key="negative_balance", points=15,
           why="Money the platform is owed right now; full strength at a month of the account's own sales."),
    Weight(key="shared_bank", points=8,
           why="Several merchants, one bank account: sometimes a franchise, sometimes one fraudster."),
    Weight(key="shared_bank_rejected", points=25,
           why="Paid out to the bank account of a merchant already rejected."),
)}

# Points for requirements.disabled_reason (the 'disabled' signal); unknown reasons get 'other'.
DISABLED_POINTS: dict[str, float] = {
    "listed": 20, "under_review": 15, "platform_paused": 10, "other": 5, "requirements.pending_verification": 3,
    "requirements.past_due": 3, "action_required.requested_capabilities": 2, "rejected": 5,
}


class Finding(BaseModel):
    """One signal that fired: its key, the points it added, the sentence that says why."""

    signal: str
    points: float
    reason: str
    value: float | None = None  # the measured ratio, factor or count


class Assessment(BaseModel):
    account_id: str
    score: int
    findings: list[Finding]

    @property
    def reasons(self) -> list[str]:
        return [f.reason for f in self.findings]

    @property
    def signals(self) -> list[str]:
        return [f.signal for f in self.findings]


def _points(key: str, measured: float, line: float, events: int) -> float:
    weight = WEIGHTS[key]
    strength = min(1.0, measured / (line * weight.full_at)) if line > 0 else 1.0
    return weight.points * strength * min(1.0, events / weight.evidence)


def _v(m: AccountMetrics, key: str) -> float:
    """A rule's value on the day the account was measured (rules change over time)."""
    return rules.value(m.now.date(), key)


def _pct(ratio: float) -> str:
    return f"{ratio * 100:.2f}%" if ratio < 0.1 else f"{ratio * 100:.1f}%"


def _window(m: AccountMetrics) -> str:
    return f"the last {int(_v(m, 'rate_window_days'))} days"


def _z(m: AccountMetrics) -> float:
    return _v(m, "confidence_z")


def _severity(lower: float, line: float, full_at: float) -> float:
    """0 at the line, 1 at `full_at` times it, on a log scale (twice the line is as far again as 4 times)."""
    if line <= 0 or lower <= line:
        return 0.0
    return min(1.0, math.log(lower / line) / math.log(full_at))


def _ratio_points(key: str, events: int, of: int, line: float, z: float) -> float:
    """Points of a ratio signal: severity of its lower bound (with the weight's floor) times its evidence."""
    weight = WEIGHTS[key]
    severity = weight.floor + (1 - weight.floor) * _severity(wilson_lower(events, of, z), line, weight.full_at)
    evidence = min(1.0, math.log1p(events) / math.log1p(weight.evidence))
    return weight.points * severity * evidence


def _at_least(lower: float) -> str:
    return f"at least {_pct(lower)} with 90% confidence"


def _inquiries(n: int) -> str:
    return f"; {n} inquir{'y' if n == 1 else 'ies'} not counted" if n else ""


def dispute_activity(m: AccountMetrics) -> Finding | None:
    """The worst recent month (by its lower bound) against Stripe's 0.75%, from `min_disputes` disputes."""
    month = m.worst_month
    line = rules.rule("stripe_excessive", month.month) if month else None
    if month is None or line is None or month.ratio is None or month.disputes < _v(m, "min_disputes") \
            or not rules.crossed(line, month.ratio):
        return None
    lower = month.lower(_z(m)) or 0.0
    text = (f"dispute activity {_pct(month.ratio)} in {month.month:%B %Y} ({month.disputes} of {month.settled} "
            f"settled charges; {_at_least(lower)}{_inquiries(month.inquiries)}), "
            + (f"above {line.label}" if lower > line.value else f"not surely above {line.label} on so few charges"))
    return Finding(signal="dispute_activity", value=month.ratio, reason=text,
                   points=_ratio_points("dispute_activity", month.disputes, month.settled, line.value, _z(m)))


def _program(month: DisputeMonth, key_prefix: str) -> tuple[Rule, bool] | None:
    """The network's line this month's ratio is past: the one the program would enrol it under (True), else the
    lowest-count line its ratio is past, for what would be (False). None when no line is passed."""
    lines = [r for r in rules.dispute_lines(month.month) if r.key.startswith(key_prefix)]
    past = [r for r in lines if month.ratio is not None and rules.crossed(r, month.ratio)]
    counted = [r for r in past if (r.min_count or 0) <= month.disputes <= (r.max_count or month.disputes)]
    if counted:
        return max(counted, key=lambda r: r.value), True
    below = [r for r in past if month.disputes < (r.min_count or 0)]
    return (min(below, key=lambda r: (r.min_count or 0, r.value)), False) if below else None


NETWORKS = (  # view, rule prefix, what its ratio is, whose sales, what its events are called
    ("visa", "visa", "Visa's VAMP ratio", "Visa card-not-present", "disputes and fraud reports"),
    ("mastercard", "mastercard", "Mastercard's chargeback ratio", "Mastercard", "chargebacks"),
)


def network_program(m: AccountMetrics) -> Finding | None:
    """Each network on its own count (core/risk/months.py): a line is claimed only where the program would
    count the merchant; below its count floor the reason says what would be, and the points scale with it."""
    best: Finding | None = None
    for view, prefix, name, sales, events in NETWORKS:
        month: DisputeMonth | None = getattr(m, f"{view}_month")
        if month is None or month.ratio is None or month.disputes < _v(m, "min_disputes"):
            continue
        found = _program(month, prefix)
        if found is None:
            continue
        line, enrolled = found
        lower = month.lower(_z(m)) or 0.0
        weight = WEIGHTS["network_program"]
        # below the program's count floor, in proportion to it on a log scale (14 of 100 is 0.57, 3 of 1,501 0.19)
        share = 1.0 if enrolled else math.log1p(month.disputes) / math.log1p(line.min_count or 1)
        points = weight.points * (0.5 + 0.5 * _severity(lower, line.value, weight.full_at)) * share
        of = (f"{month.disputes} {events} of {month.settled:,} {sales} sales"
              + (" the month before" if view == "mastercard" else "") + _inquiries(month.inquiries))
        text = f"{name} {_pct(month.ratio)} in {month.month:%B %Y} ({of})"
        text += (f", above {line.label}" if enrolled else
                 f": at {line.min_count:,} {events} a month this ratio would be past {line.label}")
        if points < 1:  # far below the program's count: what it would take is noise, say nothing
            continue
        if best is None or points > best.points:
            best = Finding(signal="network_program", value=month.ratio, points=points, reason=text)
    return best


def _rate_finding(m: AccountMetrics, key: str, rule_key: str, events: int, of: int, minimum: str,
                  sentence: Callable[[float], str]) -> Finding | None:
    line = _v(m, rule_key)
    if events < max(1, _v(m, minimum)) or of == 0 or events / of < line:
        return None
    ratio = events / of
    lower = wilson_lower(events, of, _z(m))
    return Finding(signal=key, value=ratio, reason=f"{sentence(ratio)}; {_at_least(lower)}",
                   points=_ratio_points(key, events, of, line, _z(m)))


def dispute_rate(m: AccountMetrics) -> Finding | None:
    return _rate_finding(m, "dispute_rate", "dispute_rate", m.disputed, m.settled, "min_disputes", lambda r: (
        f"dispute rate {_pct(r)} over {_window(m)} ({m.disputed} of {m.settled} charges disputed, by charge date"
        f"{_inquiries(m.inquired)})"))


def refund_rate(m: AccountMetrics) -> Finding | None:
    return _rate_finding(m, "refund_rate", "refund_rate", m.refunded, m.settled, "min_events", lambda r: (
        f"refund rate {_pct(r)} over {_window(m)} ({m.refunded} of {m.settled} settled charges refunded)"))


def risky_charges(m: AccountMetrics) -> Finding | None:
    return _rate_finding(m, "risky_charges", "risky_share", m.risky, m.attempts, "min_events", lambda r: (
        f"{m.risky} of {m.attempts} charge attempts ({_pct(r)}) over {_window(m)} rated elevated or highest "
        "risk by Radar, or blocked"))


def past_due(m: AccountMetrics) -> Finding | None:
    if not m.past_due:
        return None
    shown = ", ".join(m.past_due[:3]) + (f" and {len(m.past_due) - 3} more" if len(m.past_due) > 3 else "")
    return Finding(signal="past_due", value=len(m.past_due), points=_points("past_due", len(m.past_due), 1, 1),
                   reason=f"{len(m.past_due)} requirement{'s' if len(m.past_due) > 1 else ''} past due ({shown})")


def deadline_soon(m: AccountMetrics) -> Finding | None:
    days = _v(m, "deadline_days")
    if not m.currently_due_count or m.current_deadline is None or m.current_deadline > m.now + timedelta(days=days):
        return None
    left = (m.current_deadline - m.now).days
    when = f"in {left} days" if left >= 0 else f"{-left} days ago"
    return Finding(signal="deadline_soon", value=left, points=WEIGHTS["deadline_soon"].points,
                   reason=f"{m.currently_due_count} requirements due by {m.current_deadline:%Y-%m-%d} ({when})")


def disabled(m: AccountMetrics) -> Finding | None:
    if not m.disabled_reason:
        return None
    group = "rejected" if m.disabled_reason.startswith("rejected.") else m.disabled_reason
    points = DISABLED_POINTS.get(group, DISABLED_POINTS["other"])
    text = f"disabled ({m.disabled_reason}): {explain_disabled_reason(m.disabled_reason)}"
    return Finding(signal="disabled", points=points, reason=text)


def _baseline_days(m: AccountMetrics) -> float:
    """Days of the baseline window the account existed (a young account's baseline is shorter)."""
    recent, baseline = _v(m, "recent_days"), _v(m, "baseline_days")
    return max(0.0, min(baseline, (m.age_days or 0) - recent))


def _per_window(m: AccountMetrics, baseline: int) -> float:
    """The baseline's volume (or count) per recent window, over the days the account had; 0 without a month of it."""
    days = _baseline_days(m)
    return baseline * _v(m, "recent_days") / days if days >= _v(m, "recent_days") else 0.0


def volume_spike(m: AccountMetrics) -> Finding | None:
    factor_line, needed = _v(m, "spike_factor"), _v(m, "spike_min_charges")
    if m.recent_charges < needed or _baseline_days(m) < _v(m, "recent_days"):
        return None  # no month of history before the recent window: young accounts have their own signal
    best: tuple[float, str] | None = None
    for v in m.volumes:
        per = _per_window(m, v.baseline)
        if per > 0 and v.recent / per >= factor_line:
            factor = v.recent / per
            text = (f"volume {format_amount(v.recent, v.currency)} in the last {int(_v(m, 'recent_days'))} days, "
                    f"{factor:.1f} times its baseline ({format_amount(round(per), v.currency)} per "
                    f"{int(_v(m, 'recent_days'))} days over the {int(_baseline_days(m))} days before)")
            best = max(best or (0.0, ""), (factor, text))
        elif per == 0 and v.recent > 0:
            text = (f"volume {format_amount(v.recent, v.currency)} in the last {int(_v(m, 'recent_days'))} days "
                    f"after none in the {int(_baseline_days(m))} days before")
            best = max(best or (0.0, ""), (factor_line * WEIGHTS["volume_spike"].full_at, text))
    if best is None:
        return None
    return Finding(signal="volume_spike", value=best[0], reason=best[1],
                   points=_points("volume_spike", best[0], factor_line, m.recent_charges))


def young_high_volume(m: AccountMetrics) -> Finding | None:
    age = m.age_days
    if age is None or age >= _v(m, "young_days") or not m.lifetime_charges:
        return None
    needed = _v(m, "young_charges")
    strength = m.lifetime_charges / needed
    for v in m.volumes:
        line = rules.rule("young_volume", m.now.date(), currency=v.currency)
        if line is not None:
            strength = max(strength, v.lifetime / line.value)
    if strength < 1:
        return None
    volume = format_amounts({v.currency: v.lifetime for v in m.volumes})
    return Finding(signal="young_high_volume", value=strength, points=_points("young_high_volume", strength, 1, 1),
                   reason=f"account {int(age)} days old with {m.lifetime_charges} settled charges ({volume})")


def volume_drop(m: AccountMetrics) -> Finding | None:
    share_line, needed = _v(m, "drop_share"), _v(m, "drop_min_charges")
    if _per_window(m, m.baseline_charges) < needed or not m.volumes:
        return None
    main = max(m.volumes, key=lambda v: v.baseline)
    per = _per_window(m, main.baseline)
    share = main.recent / per if per else 1.0
    if share >= share_line:
        return None
    days = int(_v(m, "recent_days"))
    return Finding(signal="volume_drop", value=share, points=WEIGHTS["volume_drop"].points * (1 - share / share_line),
                   reason=f"volume {format_amount(main.recent, main.currency)} in the last {days} days, {_pct(share)} "
                          f"of its baseline ({format_amount(round(per), main.currency)} per {days} days)")


def failed_payouts(m: AccountMetrics) -> Finding | None:
    if not m.failed_payouts:
        return None
    latest = f", latest created {m.last_failed_payout:%Y-%m-%d}" if m.last_failed_payout else ""
    return Finding(signal="failed_payouts", value=m.failed_payouts,
                   points=_points("failed_payouts", m.failed_payouts, 1, 1),
                   reason=f"{m.failed_payouts} failed payout{'s' if m.failed_payouts > 1 else ''} in the last "
                          f"{int(_v(m, 'failed_payout_days'))} days{latest}")


def negative_balance(m: AccountMetrics) -> Finding | None:
    """Half the points for any debt, the other half as it nears a month of the account's sales (per currency:
    a debt is only ever compared with volume in its own currency)."""
    if not m.negative_balances:
        return None
    volumes = {v.currency: max(v.recent, _per_window(m, v.baseline)) for v in m.volumes}
    depth = max(min(1.0, -amount / max(volumes.get(currency, 0), 1))
                for currency, amount in m.negative_balances.items())
    return Finding(signal="negative_balance", value=depth,
                   points=WEIGHTS["negative_balance"].points * (0.5 + depth / 2),
                   reason=f"negative balance: {format_amounts(m.negative_balances)}")


def shared_bank(m: AccountMetrics) -> Finding | None:
    if not m.shared_with:
        return None
    if m.shared_with_rejected:
        plural = "s" if len(m.shared_with_rejected) > 1 else ""
        return Finding(signal="shared_bank", value=len(m.shared_with), points=WEIGHTS["shared_bank_rejected"].points,
                       reason=f"pays out to the bank account of rejected account{plural} "
                              f"{', '.join(m.shared_with_rejected)}")
    return Finding(signal="shared_bank", value=len(m.shared_with), points=WEIGHTS["shared_bank"].points,
                   reason=f"pays out to the same bank account as {', '.join(m.shared_with)}")


CHECKS: tuple[Callable[[AccountMetrics], Finding | None], ...] = (
    dispute_activity, network_program, dispute_rate, refund_rate, risky_charges, past_due, deadline_soon, disabled,
    volume_spike,
    young_high_volume, volume_drop, failed_payouts, negative_balance, shared_bank,
)


def assess(m: AccountMetrics) -> Assessment:
    """Every signal of one account, its score and its reasons, strongest first."""
    findings = sorted((f for f in (check(m) for check in CHECKS) if f is not None), key=lambda f: -f.points)
    findings = [f.model_copy(update={"points": round(f.points, 1)}) for f in findings]
    return Assessment(account_id=m.id, score=min(100, round(sum(f.points for f in findings))), findings=findings)


def weights_table() -> list[dict[str, object]]:
    """The weights as rows for a page or an export."""
    rows: list[dict[str, object]] = [w.model_dump() for w in WEIGHTS.values()]
    rows += [{"key": f"disabled:{reason}", "points": points, "full_at": 1.0, "evidence": 1,
              "why": "requirements.disabled_reason"} for reason, points in DISABLED_POINTS.items()]
    return rows
