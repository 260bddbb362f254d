"""Merchant economics: revenue per merchant, how concentrated it is, net revenue retention by first-charge
cohort, and merchants churned and reactivated per month.

All of it is read from the revenue cache's day sums (cache.py), per merchant, day and currency, so it agrees
with every other figure of the page (a charge counts on its day, with what became of it). Amounts stay in
minor units of their own currency: every result is per currency. A merchant is *active* in a month when it
has GMV that month; its *cohort* is the month (or year) of its first GMV.
"""
from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd
from pydantic import BaseModel

from core.export import csv_text
from core.revenue import cache

TOP = 10  # concentration: the top 10 merchants' share
YEAR = timedelta(days=365)

DAILY_MERCHANTS_SQL = f"""
SELECT merchant, currency, day, sum(gmv)::BIGINT AS gmv,
       sum(application_fees - application_fees_refunded + account_debits - account_debits_reversed
           + implicit_fees - implicit_fees_refunded)::BIGINT AS revenue
FROM {cache.DAILY} WHERE merchant IS NOT NULL AND day <= $end AND NOT shift GROUP BY ALL
"""


def merchant_days(db: duckdb.DuckDBPyConnection, end: date, platform: str) -> pd.DataFrame:
    """GMV and revenue per merchant, currency and day, all history up to `end` (the cache brought up to date)."""
    cache.ensure(db, platform)
    frame = db.execute(DAILY_MERCHANTS_SQL, {"end": end}).df()
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame


# --------------------------------------------------------------------------- concentration


class Concentration(BaseModel):
    currency: str
    merchants: int  # merchants with revenue or GMV in the period
    revenue: int  # every merchant's revenue (unattributed revenue, such as account debits, left out)
    top_revenue: int  # the TOP merchants' by revenue
    top_share: float | None  # top_revenue / revenue, None when there is no revenue
    gmv: int
    top_gmv: int  # the TOP merchants' by GMV
    top_gmv_share: float | None


def concentration(days: pd.DataFrame, start: date, end: date, top: int = TOP) -> list[Concentration]:
    """Per currency: how much of the period's merchant revenue (and GMV) its top merchants bring."""
    rows = days[(days["day"] >= start) & (days["day"] <= end)]
    out = []
    for currency, group in rows.groupby("currency"):
        per = group.groupby("merchant")[["gmv", "revenue"]].sum()
        total_revenue, total_gmv = int(per["revenue"].sum()), int(per["gmv"].sum())
        top_revenue = int(per["revenue"].sort_values(ascending=False).head(top).sum())
        top_gmv = int(per["gmv"].sort_values(ascending=False).head(top).sum())
        out.append(Concentration(currency=str(currency), merchants=len(per), revenue=total_revenue,
                                 top_revenue=top_revenue, top_share=_ratio(top_revenue, total_revenue), gmv=total_gmv,
                                 top_gmv=top_gmv, top_gmv_share=_ratio(top_gmv, total_gmv)))
    return sorted(out, key=lambda c: -c.gmv)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole > 0 else None


# --------------------------------------------------------------------------- net revenue retention


class Retention(BaseModel):
    currency: str
    cohort: int  # the year of the merchants' first GMV
    merchants: int  # of the cohort with revenue in the year before
    last_year: int  # their revenue in the 365 days before this year
    this_year: int  # the same merchants' revenue in the 365 days up to `end`
    nrr: float | None  # this_year / last_year


def retention(days: pd.DataFrame, end: date) -> list[Retention]:
    """Net revenue retention by first-GMV cohort year: this year's revenue (the 365 days up to `end`) from the
    merchants that had revenue last year (the 365 before), over last year's. Churned merchants count as 0."""
    this_start, last_start = end - YEAR + timedelta(days=1), end - 2 * YEAR + timedelta(days=1)
    active = days[days["gmv"] > 0]
    first = active.groupby(["merchant", "currency"])["day"].min().rename("first")
    rows = days[days["day"] >= last_start].join(first, on=["merchant", "currency"])
    rows = rows[rows["first"].notna() & (rows["first"] < this_start)]
    rows = rows.assign(this=rows["day"] >= this_start, cohort=[d.year for d in rows["first"]])
    last = rows[~rows["this"]].groupby(["currency", "cohort", "merchant"])["revenue"].sum()
    last = last[last != 0]
    this = rows[rows["this"]].groupby(["currency", "cohort", "merchant"])["revenue"].sum()
    out = []
    for (currency, cohort), group in last.groupby(level=["currency", "cohort"]):
        kept = this.reindex(group.index, fill_value=0)
        before, now = int(group.sum()), int(kept.sum())
        out.append(Retention(currency=str(currency), cohort=int(cohort), merchants=len(group), last_year=before,
                             this_year=now, nrr=_ratio(now, before)))
    return sorted(out, key=lambda r: (r.currency, r.cohort))


# --------------------------------------------------------------------------- churn


class MonthFlow(BaseModel):
    month: date
    active: int  # merchants with GMV this month (any currency)
    new: int  # their first month
    retained: int  # active the month before too
    reactivated: int  # not active the month before, active some month earlier
    churned: int  # active the month before, not this month


def churn(days: pd.DataFrame, start: date, end: date) -> list[MonthFlow]:
    """Per month of [start, end]: active merchants, and how they came and went. For each month
    active = retained + new + reactivated, and retained + churned = the month before's active."""
    active = days[days["gmv"] > 0]
    months = active.assign(month=[d.replace(day=1) for d in active["day"]]).groupby("month")["merchant"].agg(set)
    seen: set[str] = set()
    before: set[str] = set()
    out = []
    month = min(months.index, default=start.replace(day=1))
    last = end.replace(day=1)
    while month <= last:
        now = months.get(month, set())
        if month >= start.replace(day=1):
            out.append(MonthFlow(month=month, active=len(now), new=len(now - seen), retained=len(now & before),
                                 reactivated=len((now - before) & seen), churned=len(before - now)))
        seen |= now
        before = now
        month = (month + timedelta(days=32)).replace(day=1)
    return out


def merchant_revenue(days: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """Revenue and GMV per merchant and currency in the period, most revenue first."""
    rows = days[(days["day"] >= start) & (days["day"] <= end)]
    sums = rows.groupby(["merchant", "currency"], as_index=False)[["gmv", "revenue"]].sum()
    return sums.sort_values(["revenue", "gmv"], ascending=False, kind="stable").reset_index(drop=True)




# --------------------------------------------------------------------------- CSV (core/export: formula-safe)


def retention_csv(rows: list[Retention]) -> str:
    return csv_text(list(Retention.model_fields), ([getattr(r, f) for f in Retention.model_fields] for r in rows))


def churn_csv(rows: list[MonthFlow]) -> str:
    return csv_text(list(MonthFlow.model_fields),
                    ([r.month.isoformat(), *(getattr(r, f) for f in list(MonthFlow.model_fields)[1:])] for r in rows))


def concentration_csv(rows: list[Concentration]) -> str:
    return csv_text(list(Concentration.model_fields),
                    ([getattr(r, f) for f in Concentration.model_fields] for r in rows))


def merchant_revenue_csv(frame: pd.DataFrame, names: dict[str, str | None]) -> str:
    """Per merchant and currency, with the merchant's name (merchant-written text: made formula-safe)."""
    return csv_text(["merchant", "business_name", "currency", "gmv", "revenue"],
                    ([r.merchant, names.get(r.merchant) or "", r.currency, int(r.gmv), int(r.revenue)]
                     for r in frame.itertuples(index=False)))
