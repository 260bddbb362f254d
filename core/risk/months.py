"""Dispute months as each party counts them, and how sure a ratio is: pure functions, no database.

The mirror gives, per account, calendar month and card brand: settled charges (all, and card-not-present),
disputes (chargebacks; Stripe's inquiries, `warning_*`, apart) and inquiries. Three views are read from them:

* `all`: Stripe's dispute activity, disputes opened in a month over charges settled in it, every brand
  (https://docs.stripe.com/disputes/measuring);
* `visa`: Visa's VAMP ratio, Visa disputes and issuers' fraud reports (TC40: Radar's early fraud warnings,
  each sale counted once) on card-not-present sales over Visa card-not-present sales of the month
  (card-present sales are not in VAMP's denominator);
* `mastercard`: Mastercard's ECP ratio, Mastercard chargebacks in a month over Mastercard sales of the month
  before (no sales the month before: no ratio at all, never a division by one).

Each view's worst month is found on its own, by the lower confidence bound of its ratio (Wilson score
interval), so one dispute on one sale is not the worst month of an account with ten on a hundred.
"""
from __future__ import annotations

import math
from datetime import date, timedelta

from pydantic import BaseModel

VIEWS = ("all", "visa", "mastercard")


class BrandMonth(BaseModel):
    """One calendar month of one card brand of one account, as the mirror counts it."""

    month: date
    brand: str
    settled: int = 0
    settled_cnp: int = 0   # settled card-not-present (not `card_present`)
    disputes: int = 0      # chargebacks opened that month (inquiries excluded)
    disputes_cnp: int = 0  # ... on card-not-present charges
    inquiries: int = 0     # Stripe inquiries (warning_*) opened that month: not counted by the networks
    reports_cnp: int = 0   # issuers' fraud reports (early fraud warnings) on card-not-present sales not disputed


class DisputeMonth(BaseModel):
    """One month of one view: disputes over its denominator (see the module docstring)."""

    month: date
    disputes: int
    settled: int                # the view's denominator
    view: str = "all"
    inquiries: int = 0          # opened that month, counted apart
    previous_settled: int = 0   # all brands' settled charges of the month before (shown with `all`)

    @property
    def ratio(self) -> float | None:
        """The ratio, or None without a denominator (never a division by one)."""
        return self.disputes / self.settled if self.settled else None

    def lower(self, z: float) -> float | None:
        return wilson_lower(self.disputes, self.settled, z) if self.settled else None


def wilson_lower(events: int, trials: int, z: float) -> float:
    """The lower end of the Wilson score interval of events/trials (one-sided with z): how low the true rate
    can plausibly be. 1 of 1 at z=1.28 is 0.38; 500 of 5,000 is 0.094."""
    if trials <= 0:
        return 0.0
    events = min(events, trials)
    p = events / trials
    z2 = z * z
    centre = p + z2 / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return max(0.0, (centre - spread) / (1 + z2 / trials))


def _previous(month: date) -> date:
    return (month.replace(day=1) - timedelta(days=1)).replace(day=1)


def view_months(rows: list[BrandMonth], view: str) -> list[DisputeMonth]:
    """Every month of one view that has a dispute or an inquiry (oldest first)."""
    by_month: dict[date, list[BrandMonth]] = {}
    for row in rows:
        by_month.setdefault(row.month, []).append(row)

    def settled_all(month: date) -> int:
        return sum(r.settled for r in by_month.get(month, []))

    found = []
    for month in sorted(by_month):
        mine = by_month[month]
        if view == "all":
            disputes, inquiries = sum(r.disputes for r in mine), sum(r.inquiries for r in mine)
            settled = settled_all(month)
        elif view == "visa":
            visa = [r for r in mine if r.brand == "visa"]
            disputes = sum(r.disputes_cnp + r.reports_cnp for r in visa)  # VAMP: fraud reports + disputes
            inquiries = sum(r.inquiries for r in visa)
            settled = sum(r.settled_cnp for r in visa)
        else:
            card = [r for r in mine if r.brand == "mastercard"]
            disputes, inquiries = sum(r.disputes for r in card), sum(r.inquiries for r in card)
            settled = sum(r.settled for r in by_month.get(_previous(month), []) if r.brand == "mastercard")
        if disputes or inquiries:
            found.append(DisputeMonth(month=month, disputes=disputes, settled=settled, view=view, inquiries=inquiries,
                                      previous_settled=settled_all(_previous(month))))
    return found


def worst(rows: list[BrandMonth], view: str, since: date, z: float) -> DisputeMonth | None:
    """The view's worst month from `since` on: the highest lower bound of its ratio (then the most disputes).
    A month with disputes and no denominator comes last (it has no ratio); a month of inquiries only too."""
    months = [m for m in view_months(rows, view) if m.month >= since]
    if not months:
        return None
    return max(months, key=lambda m: (m.disputes > 0, m.lower(z) or 0.0, m.disputes, m.month))
