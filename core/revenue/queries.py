"""Revenue from the mirror: one pass per period over the revenue cache, then every cut finance asks for.

`facts` reads the period (and the one before it, for changes) from the cache's day sums (cache.py: every
succeeded GMV charge with what became of it, every application fee, account debit and negative balance
the platform covered, joined once per object and kept up to date with the mirror), summed two ways: by
day and by merchant, each with currency, charge type, country and account type. Every page figure, chart
and table, and `connect-ops revenue`, is a sum over those rows, so a total is the exact sum of any of its
breakdowns. Formulas live in definitions.py.

Amounts stay in minor units of their own currency. The platform-currency view multiplies each row by
the exchange rate Stripe applied when the charge (or fee) settled in the platform's balance (`*_p`
columns, in the platform currency's minor units); rows without such a rate are left out and counted.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

import duckdb
import pandas as pd
from pydantic import BaseModel, ConfigDict, model_validator

from core.money import minor_per_unit
from core.revenue import cache
from core.revenue.dating import Dating
from core.export import csv_text
from core.revenue.definitions import FEE_LEDGER_TYPES, LOSS_KINDS, MEASURES, Measures, revenue

Grain = Literal["day", "week", "month"]
Cut = Literal["currency", "charge_type", "country", "account_type", "merchant"]
GRAINS: tuple[Grain, ...] = ("day", "week", "month")
CUTS: tuple[Cut, ...] = ("currency", "charge_type", "country", "account_type", "merchant")
DEFAULT_PLATFORM_CURRENCY = "usd"
UNKNOWN = "—"  # a cut with no value: a separate charge not transferred yet, an account debit's sender
# The dates a period may span: Stripe's objects are stamped in Unix time, and a period needs the one before it
# (for its changes) and the day after it (its half-open end) to be dates too.
EARLIEST = date(1970, 1, 1)
LATEST = date(2999, 12, 31)


# --------------------------------------------------------------------------- the period


class Period(BaseModel):
    """Inclusive UTC dates, as people type them; `bounds` are the half-open timestamps queries use."""

    model_config = ConfigDict(frozen=True)
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError(f"the period ends ({self.end}) before it starts ({self.start})")
        if self.end > LATEST or (self.start - date.min).days < self.days:
            raise ValueError(f"dates are out of range: a period runs from {EARLIEST} to {LATEST} at most")
        return self

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        return datetime.combine(self.start, time()), datetime.combine(self.end + timedelta(days=1), time())

    def previous(self) -> Period:
        """The period of the same length just before this one (what KPI changes compare with)."""
        return Period(start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1))


def period_start(day: date, grain: Grain) -> date:
    """The first day of the day's week (ISO, Monday) or month."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


# --------------------------------------------------------------------------- one pass over the period

_SUMS = ", ".join([*(f"coalesce(sum({m}), 0)::BIGINT AS {m}" for m in MEASURES),
                   *(f"coalesce(sum({m}_p), 0) AS {m}_p" for m in MEASURES),
                   "min(min_rate) AS min_rate", "max(max_rate) AS max_rate", "sum(rates)::BIGINT AS rates"])

FACTS_SQL = f"""
WITH day_rows AS NOT MATERIALIZED (  -- the cache's day sums for the period and the one before, with places
    SELECT d.*, d.day >= $start AS current, a.country, a.type AS account_type FROM {cache.DAILY} d
    LEFT JOIN (SELECT id, country, type FROM connected_accounts WHERE account IS NULL) a ON a.id = d.merchant
    WHERE d.day >= $since AND d.day <= $end AND (NOT d.shift OR $event)  -- shifts: the event dating (dating.py)
)
SELECT current, day, NULL AS merchant, currency, charge_type, country, account_type, converted, {_SUMS}
FROM day_rows GROUP BY ALL
UNION ALL BY NAME
SELECT current, NULL::DATE AS day, merchant, currency, charge_type, country, account_type, converted, {_SUMS}
FROM day_rows WHERE current GROUP BY ALL
"""


class Facts(BaseModel):
    """The period's sums: `by_day` (no merchant; the previous period too, `current` false) and `by_merchant`
    (no day; the period only). Small enough to cache and pickle: the page keeps them per data version."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)
    period: Period
    platform_currency: str
    by_day: pd.DataFrame
    by_merchant: pd.DataFrame


def platform_currency(db: duckdb.DuckDBPyConnection) -> str:
    """The platform's settlement currency: the platform account's default_currency, which its own balance
    transactions settle in (converted ones carry an exchange_rate into it, the rest are in it already). Read
    from those transactions (the mirror holds no platform account object)."""
    for converted in ("exchange_rate IS NOT NULL", "TRUE"):  # a converted one is proof; else the most common
        row = db.execute("SELECT currency FROM (SELECT currency FROM balance_transactions WHERE account IS NULL "
                         f"AND {converted} LIMIT 1000) GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()
        if row:
            return str(row[0])
    return DEFAULT_PLATFORM_CURRENCY


def facts(db: duckdb.DuckDBPyConnection, start: date, end: date, window_only: bool = False,
          dated: Dating = "charge") -> Facts:
    """The period [start, end] (inclusive, UTC) and the one before it, summed from the revenue cache (brought
    up to date first; `window_only`: built for these dates alone, for a one-off reader such as the CLI), dated
    by charge or by event (core/revenue/dating.py)."""
    period = Period(start=start, end=end)
    since, _ = period.previous().bounds
    stop = period.bounds[1]
    currency = platform_currency(db)
    if window_only:
        cache.ensure_window(db, currency, since, stop)
    else:
        cache.ensure(db, currency)
    frame = db.execute(FACTS_SQL, {"since": since.date(), "start": period.start, "end": period.end,
                                   "event": dated == "event"}).df()
    for key in ("merchant", "charge_type", "country", "account_type"):
        frame[key] = frame[key].fillna(UNKNOWN)
    timed = frame["day"].notna()
    by_day = frame[timed].drop(columns=["merchant"]).reset_index(drop=True)
    by_day["day"] = pd.to_datetime(by_day["day"]).dt.date
    by_merchant = frame[~timed].drop(columns=["day"]).reset_index(drop=True)
    return Facts(period=period, platform_currency=currency, by_day=by_day, by_merchant=by_merchant)


# --------------------------------------------------------------------------- cuts: sums of those rows


class Row(BaseModel):
    """One line of a breakdown: the values of its keys and the sums (with every derived figure)."""

    keys: dict[str, Any]
    measures: Measures


def view_rows(frame: pd.DataFrame, currency: str | None, platform: str, current: bool = True) -> pd.DataFrame:
    """The rows a view sums: one currency as it is, or (currency None) every converted row in the platform
    currency, whose `*_p` columns take the measures' names."""
    rows = frame[frame["current"] == current]
    if currency is not None:
        return rows[rows["currency"] == currency]
    rows = rows[rows["converted"]].drop(columns=list(MEASURES))
    return rows.rename(columns={f"{m}_p": m for m in MEASURES}).assign(currency=platform)


def _sums(rows: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    return rows.groupby(list(keys), dropna=False, sort=True)[list(MEASURES)].sum().reset_index()


def _row(values: Any, keys: Sequence[str], currency: str | None) -> Row:
    """Integers from sums (converted sums are floats of minor units: rounded once, here)."""
    named = {k: getattr(values, k) for k in keys}
    unit = currency or str(named["currency"])
    return Row(keys=named, measures=Measures(currency=unit, **{m: round(float(getattr(values, m)))
                                                               for m in MEASURES}))


def rollup(rows: pd.DataFrame, keys: Sequence[str], currency: str | None) -> list[Row]:
    """Sums by `keys` (none: one grand total) with their derived figures; in time order when keyed by time,
    else largest GMV first. `currency` None: each row's own (then `currency` must be one of the keys)."""
    if rows.empty:
        return []
    if not keys:
        return [_row(rows[list(MEASURES)].sum(), (), currency)]
    out = [_row(values, keys, currency) for values in _sums(rows, keys).itertuples(index=False)]
    return out if {"day", "period"} & set(keys) else sorted(out, key=lambda r: -r.measures.gmv)


def currencies(facts: Facts) -> list[str]:
    """Currencies with any activity in the period or the one before, most GMV first."""
    return [str(c) for c in facts.by_day.groupby("currency")["gmv"].sum().sort_values(ascending=False).index]


def totals(facts: Facts, current: bool = True) -> dict[str, Measures]:
    """Per currency, never added together: the KPI tiles and the CLI."""
    return {r.measures.currency: r.measures for r in by_currency(facts, current)}


def total(facts: Facts, currency: str | None, current: bool = True) -> Measures:
    """The period's sums in one currency, or converted into the platform's (currency None)."""
    unit = currency or facts.platform_currency
    found = rollup(view_rows(facts.by_day, currency, facts.platform_currency, current), [], unit)
    return found[0].measures if found else Measures(currency=unit)


def with_period(rows: pd.DataFrame, grain: Grain) -> pd.DataFrame:
    """Rows keyed by the first day of their week or month (`period`)."""
    starts = {d: period_start(d, grain) for d in set(rows["day"])}
    return rows.assign(period=rows["day"].map(starts))


def series(facts: Facts, grain: Grain, split: Cut | None, currency: str | None) -> list[Row]:
    """Sums per grain period (key `period`, its first day), optionally split by a cut (not merchant)."""
    rows = with_period(view_rows(facts.by_day, currency, facts.platform_currency), grain)
    return rollup(rows, ["period", split] if split else ["period"], currency or facts.platform_currency)


def breakdown(facts: Facts, cut: Cut, currency: str | None) -> list[Row]:
    """The period's sums by one cut, largest GMV first; merchants come from the by-merchant sums."""
    frame = facts.by_merchant if cut == "merchant" else facts.by_day
    return rollup(view_rows(frame, currency, facts.platform_currency), [cut], currency or facts.platform_currency)


def top_merchants(facts: Facts, by: Literal["revenue", "gmv"], currency: str | None, limit: int = 10) -> list[Row]:
    """The merchants with the most revenue (or GMV) in the period (unattributed money left out)."""
    rows = view_rows(facts.by_merchant, currency, facts.platform_currency)
    sums = _sums(rows[rows["merchant"] != UNKNOWN], ["merchant"])
    ranking = revenue(sums) if by == "revenue" else sums["gmv"]
    top = sums.loc[ranking.sort_values(ascending=False, kind="stable").index[:limit]]
    return [_row(values, ["merchant"], currency or facts.platform_currency) for values in top.itertuples(index=False)]


class Unconverted(BaseModel):
    currency: str
    gmv: int
    revenue: int
    losses: int


class RateUsed(BaseModel):
    currency: str
    to: str
    lowest: float
    highest: float
    average: float | None  # GMV-weighted, major units of `to` per major unit of `currency`
    transactions: int


def unconverted(facts: Facts) -> list[Unconverted]:
    """What the platform-currency view leaves out for want of a settlement rate, per currency."""
    rows = facts.by_day[facts.by_day["current"] & ~facts.by_day["converted"]]
    return [Unconverted(currency=r.measures.currency, gmv=r.measures.gmv, revenue=r.measures.revenue,
                        losses=r.measures.losses) for r in rollup(rows, ["currency"], None)
            if r.measures != Measures(currency=r.measures.currency)]  # an authorization only: nothing to convert


def rates_used(facts: Facts) -> list[RateUsed]:
    """The exchange rates behind the platform-currency view: per currency, their range and weighted mean."""
    rows = facts.by_day[facts.by_day["current"] & facts.by_day["converted"] & (facts.by_day["rates"] > 0)]
    out = []
    for currency, group in rows.groupby("currency"):
        gmv, gmv_p = int(group["gmv"].sum()), float(group["gmv_p"].sum())
        per_unit = minor_per_unit(facts.platform_currency) / minor_per_unit(str(currency))
        out.append(RateUsed(currency=str(currency), to=facts.platform_currency, lowest=float(group["min_rate"].min()),
                            highest=float(group["max_rate"].max()),
                            average=round(gmv_p / gmv / per_unit, 6) if gmv else None,
                            transactions=int(group["rates"].sum())))
    return out


# --------------------------------------------------------------------------- cohorts

COHORT_MONTHS = 12  # cohorts are merchants whose first charge falls in the 12 months up to the period's end

COHORTS_SQL = f"""
WITH gmv AS (  -- GMV per merchant and day (a separate charge's merchant: the destination of its largest transfer)
    SELECT day, currency, gmv, merchant FROM {cache.DAILY} WHERE gmv <> 0 AND merchant IS NOT NULL AND day <= $end
      AND NOT shift
),
first AS (SELECT merchant, date_trunc('month', min(day))::DATE AS cohort FROM gmv GROUP BY 1)
SELECT f.cohort, date_diff('month', f.cohort, date_trunc('month', g.day)::DATE) AS months,
       g.currency, sum(g.gmv)::BIGINT AS gmv, count(DISTINCT g.merchant) AS merchants
FROM gmv g JOIN first f USING (merchant)
WHERE f.cohort >= $since
GROUP BY ALL ORDER BY 1, 2, 3
"""


class CohortCell(BaseModel):
    cohort: date  # the month of the merchants' first charge
    months: int  # months since then (0: the first month)
    currency: str
    gmv: int
    merchants: int  # merchants of the cohort charging that month


def cohorts(db: duckdb.DuckDBPyConnection, start: date, end: date) -> list[CohortCell]:
    """GMV of new merchants by months since their first charge: merchants whose first charge falls in the
    12 months up to the period's end (or the whole period, when longer), their GMV up to the period's end."""
    period = Period(start=start, end=end)
    first_month = min(period.start, (period.end.replace(day=1) - timedelta(days=31 * (COHORT_MONTHS - 1)))
                      .replace(day=1)).replace(day=1)
    cache.ensure(db, platform_currency(db))
    rows = db.execute(COHORTS_SQL, {"since": first_month, "end": period.end}).fetchall()
    return [CohortCell(cohort=c, months=int(m), currency=cur, gmv=int(g), merchants=int(n)) for c, m, cur, g, n in rows]


# --------------------------------------------------------------------------- reconciliation

RECONCILIATION_SQL = f"""
SELECT currency, sum(fee_count)::BIGINT AS fees, sum(application_fees - application_fees_refunded)::BIGINT AS revenue,
       sum(ledger)::BIGINT AS ledger, sum(difference)::BIGINT AS difference, sum(rounding)::BIGINT AS rounding,
       sum(missing_entries)::BIGINT AS missing_entries, sum(unlisted_refunds)::BIGINT AS unlisted_refunds
FROM {cache.DAILY} WHERE day >= $start AND day <= $end AND fee_count > 0 AND NOT shift
GROUP BY 1 ORDER BY 1
"""

ORPHANS_SQL = f"""
SELECT b.currency, count(*), sum(b.amount)::BIGINT FROM balance_transactions b
LEFT JOIN (SELECT balance_transaction_id FROM application_fees WHERE created >= $start AND created < $end) f
       ON f.balance_transaction_id = b.id
WHERE b.account IS NULL AND b.type = '{FEE_LEDGER_TYPES[0]}' AND b.created >= $start AND b.created < $end
  AND f.balance_transaction_id IS NULL
GROUP BY 1 ORDER BY 1
"""


class Reconciliation(BaseModel):
    """Per fee currency: application fees less fee refunds (what revenue counts) against the platform's own
    application_fee and application_fee_refund balance transactions for the same fees, back in the fee's
    currency at each transaction's exchange_rate. Implicit fees and account debits have no ledger entry
    of their own: they are the same on both sides."""

    currency: str
    fees: int
    revenue: int  # application fees - refunded, as revenue counts them
    ledger: int  # the same fees' balance transactions, in the fee's currency
    difference: int  # ledger - revenue, beyond conversion rounding
    rounding: int  # ledger - revenue within 1 minor unit per converted transaction
    missing_entries: int  # fees without an application_fee balance transaction in the mirror
    unlisted_refunds: int  # fees with more refunds than their object lists (Stripe embeds 10)


class LedgerOrphans(BaseModel):
    currency: str  # the balance transactions' (settlement) currency
    entries: int  # application_fee balance transactions of the period whose fee is not in the mirror
    amount: int


def reconciliation(db: duckdb.DuckDBPyConnection, start: date, end: date) -> tuple[list[Reconciliation],
                                                                                     list[LedgerOrphans]]:
    """Revenue's fee part against the ledger, for fees created in the period (see Reconciliation)."""
    period = Period(start=start, end=end)
    first, stop = period.bounds
    cache.ensure(db, platform_currency(db))
    rows = db.execute(RECONCILIATION_SQL, {"start": period.start, "end": period.end}).fetchall()
    fields = list(Reconciliation.model_fields)
    checked = [Reconciliation(**{k: (v if k == "currency" else int(v or 0)) for k, v in zip(fields, row)})
               for row in rows]
    return checked, _orphans(db, first, stop, sum(r.fees - r.missing_entries for r in checked))


def _orphans(db: duckdb.DuckDBPyConnection, first: datetime, stop: datetime, linked: int) -> list[LedgerOrphans]:
    """Fee balance transactions of the period without a fee in the mirror. A fee's transaction is made with it,
    so when their counts agree there are none and the (costly) search is skipped."""
    row = db.execute(f"SELECT count(*) FROM balance_transactions WHERE account IS NULL AND type = '{FEE_LEDGER_TYPES[0]}' "
                     "AND created >= $start AND created < $end", {"start": first, "end": stop}).fetchone()
    if not row or int(row[0]) == linked:
        return []
    return [LedgerOrphans(currency=c, entries=int(n), amount=int(a))
            for c, n, a in db.execute(ORPHANS_SQL, {"start": first, "end": stop}).fetchall()]


# --------------------------------------------------------------------------- merchants


class Merchant(BaseModel):
    id: str
    business_name: str | None
    country: str | None
    type: str | None


def merchants(db: duckdb.DuckDBPyConnection, ids: Iterable[str]) -> dict[str, Merchant]:
    """Names and places of a few connected accounts (a top list's)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = db.execute("SELECT id, business_name, country, type FROM connected_accounts "
                      "WHERE account IS NULL AND list_contains($ids, id)", {"ids": wanted}).fetchall()
    return {r[0]: Merchant(id=r[0], business_name=r[1], country=r[2], type=r[3]) for r in rows}


# --------------------------------------------------------------------------- the command line's report

REPORT_FIELDS = ("gmv", "charges", "refunded", "application_fees", "application_fees_refunded", "implicit_fees",
                 "revenue", "take_rate_bps",
                 # issue 20: every figure the identities need, so the JSON can be checked from its own fields
                 "implicit_fees_refunded", "account_debits", "account_debits_reversed", "stripe_fees", "margin",
                 "refunded_volume", "losses", "awaiting_transfer", "platform_own_sales", "revenue_rate_bps",
                 "charges_allocated_by_amount", "unconverted_transfers")
RENAMED = {"refunded_volume": "refunded", "charges_allocated_by_amount": "charges_allocated"}
LOSS_FIELDS = tuple(f"losses_{kind}" for kind in LOSS_KINDS)  # the CSV's flat columns for losses_by_kind


def _report_entry(measures: Measures) -> dict[str, Any]:
    """One currency's (or one series point's) figures; `losses_by_kind` sums to `losses`."""
    entry = {name: getattr(measures, RENAMED.get(name, name)) for name in REPORT_FIELDS}
    entry["losses_by_kind"] = {kind: getattr(measures, field) for kind, field in LOSS_KINDS.items()}
    return entry


def report(db: duckdb.DuckDBPyConnection, start: date, end: date, grain: Grain = "day",
           dated: Dating = "charge") -> dict[str, Any]:
    """`connect-ops revenue --format json`: per lower-case currency, the period's figures in minor units and
    their series at `grain` (each entry's `period` is the first day of its day, week or month)."""
    found = facts(db, start, end, window_only=True, dated=dated)
    out: dict[str, Any] = {}
    for currency, measures in sorted(totals(found).items()):
        points = series(found, grain, None, currency)
        out[currency] = {**_report_entry(measures),
                         "series": [{"period": p.keys["period"].isoformat(), **_report_entry(p.measures)}
                                    for p in points]}
    return {"from": start.isoformat(), "to": end.isoformat(), "by": grain, "dated": dated,
            "platform_currency": found.platform_currency,
            "currencies": out}


def report_csv(data: dict[str, Any]) -> str:
    """The same report as CSV: one `total` line per currency, then its series, amounts in minor units."""
    def line(currency: str, period: str, entry: dict[str, Any]) -> list[Any]:
        return [currency, period, *(entry[f] for f in REPORT_FIELDS), *(entry["losses_by_kind"][k] for k in LOSS_KINDS)]

    rows = []
    for currency, entry in data["currencies"].items():
        rows.append(line(currency, "total", entry))
        rows.extend(line(currency, point["period"], point) for point in entry["series"])
    return csv_text(["currency", "period", *REPORT_FIELDS, *LOSS_FIELDS], rows)


def by_currency(facts: Facts, current: bool = True) -> list[Row]:
    """Each currency as charged (never converted), largest GMV first: the totals behind every view."""
    return rollup(facts.by_day[facts.by_day["current"] == current], ["currency"], None)


def seen_currencies(db: duckdb.DuckDBPyConnection) -> list[str]:
    """Currencies the mirror has charges or application fees in (the page's currency picker)."""
    rows = db.execute("SELECT DISTINCT currency FROM charges WHERE currency IS NOT NULL UNION "
                      "SELECT DISTINCT currency FROM application_fees WHERE currency IS NOT NULL").fetchall()
    return sorted(str(r[0]) for r in rows)
