"""What the Revenue page shows, as it lives in the URL: period, grain, currency, split.

`?period=30d&by=week` (a rolling window ending today, UTC) or `?from=2025-01-01&to=2025-03-31&by=month`
(fixed dates: a link that always shows the same quarter); `currency=eur` shows one currency as it is,
no `currency` the platform-currency view (converted at settlement rates); `split=charge_type|currency`
stacks the time charts. Bad values fall back to the defaults rather than failing: a link is typed by people.
"""
from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from core.app.text import visible
from core.export import csv_text
from core.money import format_amount
from core.revenue.dating import DATINGS, Dating
from core.revenue.queries import EARLIEST, GRAINS, CohortCell, Grain, Period, Row

PRESETS: dict[str, int] = {"7d": 7, "30d": 30, "90d": 90, "365d": 365}
PRESET_LABELS = {"7d": "Last 7 days", "30d": "Last 30 days", "90d": "Last 90 days", "365d": "Last 12 months",
                 "custom": "Custom dates"}
Split = Literal["charge_type", "currency"]
SPLITS: tuple[Split, ...] = ("charge_type", "currency")
QUERY_KEYS = ("period", "from", "to", "by", "currency", "split", "dated")
MAX_DAYS = 3 * 366  # a longer period is cut to this (the mirror holds Stripe's history, the page a few years)


class RevenueView(BaseModel):
    model_config = ConfigDict(frozen=True)
    preset: str = "30d"  # a key of PRESETS, or "custom"
    start: date | None = None  # custom dates only
    end: date | None = None
    grain: Grain = "day"
    currency: str | None = None  # None: the platform-currency view
    split: Split = "charge_type"
    dated: Dating = "charge"  # or "event": refunds, reversals and disputes on their own day (dating.py)

    def period(self, today: date) -> Period:
        """The dates shown: a preset ends today; custom dates are kept (ordered, at most MAX_DAYS, none after
        today, none before EARLIEST)."""
        if self.preset in PRESETS or self.start is None or self.end is None:
            days = PRESETS.get(self.preset, PRESETS["30d"])
            return Period(start=today - timedelta(days=days - 1), end=today)
        start, end = sorted((self.start, self.end))
        end = min(max(end, EARLIEST + timedelta(days=1)), today)
        start = min(max(start, end - timedelta(days=MAX_DAYS - 1)), end)
        return Period(start=max(start, EARLIEST), end=end)

    def notice(self, today: date) -> str | None:
        """One line when the custom dates asked for are not the dates shown (out of range, or too long)."""
        if self.preset in PRESETS or self.start is None or self.end is None:
            return None
        shown, asked = self.period(today), tuple(sorted((self.start, self.end)))
        if (shown.start, shown.end) == asked:
            return None
        return (f"Showing {shown.start} – {shown.end}: the dates asked for ({asked[0]} – {asked[1]}) go beyond "
                f"what this page shows (from {EARLIEST}, to today, at most {MAX_DAYS:,} days).")

    @classmethod
    def from_query_params(cls, params: Mapping[str, Any]) -> RevenueView:
        def one(key: str) -> str | None:
            value = params.get(key)
            value = value[-1] if isinstance(value, list) and value else value
            return str(value).strip().lower() if value not in (None, "") else None

        fields: dict[str, Any] = {}
        start, end = _date(one("from")), _date(one("to"))
        if start and end:
            fields.update(preset="custom", start=start, end=end)
        elif one("period") in PRESETS:
            fields["preset"] = one("period")
        if one("by") in GRAINS:
            fields["grain"] = one("by")
        if one("split") in SPLITS:
            fields["split"] = one("split")
        if one("dated") in DATINGS:
            fields["dated"] = one("dated")
        currency = one("currency")
        if currency and len(currency) == 3 and currency.isalpha():
            fields["currency"] = currency
        try:
            return cls(**fields)
        except ValidationError:
            return cls()

    def to_query_params(self) -> dict[str, str]:
        """Only what differs from the defaults, so a plain link stays plain."""
        out: dict[str, str] = {}
        if self.preset == "custom" and self.start and self.end:
            out.update({"from": self.start.isoformat(), "to": self.end.isoformat()})
        elif self.preset != "30d":
            out["period"] = self.preset
        if self.grain != "day":
            out["by"] = self.grain
        if self.currency:
            out["currency"] = self.currency
        if self.split != "charge_type":
            out["split"] = self.split
        if self.dated != "charge":
            out["dated"] = self.dated
        return out


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


# --------------------------------------------------------------------------- tables and CSV for any breakdown

MONEY_FIELDS = ("gmv", "net_gmv", "refunded", "disputes_lost", "dispute_fees", "application_fees",
                "application_fees_refunded", "implicit_fees", "implicit_fees_refunded", "account_debits",
                "account_debits_reversed", "revenue", "stripe_fees", "margin", "negative_balances_covered", "losses")
RATE_FIELDS = ("take_rate_bps", "revenue_rate_bps")


def _cell(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def shown_rows(rows: list[Row], fields: tuple[str, ...] = ("gmv", "revenue", "margin", "take_rate_bps")) -> list[dict[str, Any]]:
    """A breakdown as a page shows it: key columns, then the chosen figures formatted in their currency."""
    out = []
    for row in rows:
        line: dict[str, Any] = {k: _cell(v) for k, v in row.keys.items()}
        for name in fields:
            value = getattr(row.measures, name)
            line[name] = format_amount(value, row.measures.currency) if name in MONEY_FIELDS else value
        out.append(line)
    return out


def rows_csv(rows: list[Row]) -> str:
    """A breakdown for spreadsheets: key columns, the currency, every figure (money in minor units). Key
    columns may hold merchant-written text (a business name): core/export makes it formula-safe."""
    keys = list(rows[0].keys) if rows else []
    fields = ["charges", *MONEY_FIELDS, *RATE_FIELDS]
    return csv_text([*keys, "currency", *fields],
                    ([*(_cell(row.keys[k]) for k in keys), row.measures.currency,
                      *(getattr(row.measures, f) for f in fields)] for row in rows))


def cohorts_csv(cells: list[CohortCell]) -> str:
    """The cohort grid for spreadsheets, one cell a line (GMV in minor units)."""
    return csv_text(["cohort", "months", "currency", "gmv", "merchants"],
                    ([c.cohort.isoformat(), c.months, c.currency, c.gmv, c.merchants] for c in cells))


CHART_LABEL_LIMIT = 40


def chart_label(text: object) -> str:
    """Merchant-written text inside a Plotly figure. Plotly renders a few HTML tags in labels and hovers
    (links and line breaks too), so the text is escaped, its invisible characters shown, and it is cut."""
    return html.escape(visible(text, CHART_LABEL_LIMIT), quote=False)
