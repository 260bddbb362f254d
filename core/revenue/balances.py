"""Balances and float, from the balance transactions (every scope's ledger is in the mirror).

A balance transaction's `net` joins the balance when it is created: pending until `available_on`, then
available (Stripe's /v1/balance: https://docs.stripe.com/api/balance/balance_object). So at any instant `t`,
per scope and currency: available = sum(net) of those with available_on <= t; pending = those created <= t
whose available_on is later. The platform's own, the connected accounts' together, and the negative balances
outstanding (accounts whose balance is below zero, whether or not the platform covered them yet) come from
that one rule; the money held for separate charges awaiting their transfer comes from the revenue cache.
Per currency, never added together; amounts in minor units.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import duckdb
from pydantic import BaseModel

from core.export import csv_text
from core.revenue import cache


class Balance(BaseModel):
    currency: str
    available: int
    pending: int

    @property
    def total(self) -> int:
        return self.available + self.pending


class Float(BaseModel):
    """Where the money stands at an instant, per currency."""

    currency: str
    platform_available: int
    platform_pending: int
    accounts_available: int  # every connected account's, together
    accounts_pending: int
    negative_outstanding: int  # the sum of the balances below zero (a positive number)
    negative_accounts: int
    awaiting_transfer: int  # separate charges no transfer has drawn on yet, less refunds (all history)


BALANCES_SQL = """
SELECT account IS NULL AS platform, currency,
       coalesce(sum(net) FILTER (WHERE available_on <= $at), 0)::BIGINT AS available,
       coalesce(sum(net) FILTER (WHERE available_on > $at), 0)::BIGINT AS pending
FROM balance_transactions WHERE created <= $at GROUP BY ALL
"""

NEGATIVE_SQL = """
SELECT currency, -sum(balance)::BIGINT AS outstanding, count(*) AS accounts FROM (
    SELECT account, currency, sum(net) AS balance FROM balance_transactions
    WHERE account IS NOT NULL AND created <= $at GROUP BY ALL HAVING sum(net) < 0)
GROUP BY 1
"""

AWAITING_SQL = f"""SELECT currency, sum(awaiting_transfer)::BIGINT FROM {cache.DAILY} WHERE day <= $day AND NOT shift GROUP BY 1"""


def float_at(db: duckdb.DuckDBPyConnection, at: datetime, platform: str) -> list[Float]:
    """Balances and float per currency at the instant `at` (UTC, naive)."""
    cache.ensure(db, platform)
    out: dict[str, dict[str, int]] = {}

    def slot(currency: str) -> dict[str, int]:
        return out.setdefault(currency, {k: 0 for k in Float.model_fields if k != "currency"})

    for is_platform, currency, available, pending in db.execute(BALANCES_SQL, {"at": at}).fetchall():
        side = "platform" if is_platform else "accounts"
        slot(currency)[f"{side}_available"] += int(available)
        slot(currency)[f"{side}_pending"] += int(pending)
    for currency, outstanding, accounts in db.execute(NEGATIVE_SQL, {"at": at}).fetchall():
        slot(currency).update(negative_outstanding=int(outstanding), negative_accounts=int(accounts))
    for currency, awaiting in db.execute(AWAITING_SQL, {"day": at.date()}).fetchall():
        slot(currency)["awaiting_transfer"] = int(awaiting or 0)
    return [Float(currency=c, **v) for c, v in sorted(out.items())]


# Cumulative sums per side (platform, accounts) and currency, read at each day's end by an ASOF join, so the
# cost is the ledger's size plus days x currencies (never days x transactions).
_GRID = "(SELECT unnest(generate_series($start, $end, INTERVAL 1 DAY))::DATE AS day)"
SERIES_SQL = f"""
WITH moves AS (
    SELECT account IS NULL AS platform, currency, created::DATE AS day, net AS total, 0 AS available
    FROM balance_transactions WHERE created < $stop
    UNION ALL
    SELECT account IS NULL, currency, available_on::DATE, 0, net  -- available by that day's end
    FROM balance_transactions WHERE created < $stop
),
running AS (
    SELECT platform, currency, day, sum(sum(total)) OVER w AS total, sum(sum(available)) OVER w AS available
    FROM moves GROUP BY platform, currency, day WINDOW w AS (PARTITION BY platform, currency ORDER BY day)
),
grid AS (SELECT g.day, s.platform, s.currency FROM {_GRID} g, (SELECT DISTINCT platform, currency FROM running) s)
SELECT g.day, g.currency,
       coalesce(sum(r.available) FILTER (WHERE g.platform), 0)::BIGINT AS platform_available,
       coalesce(sum(r.total - r.available) FILTER (WHERE g.platform), 0)::BIGINT AS platform_pending,
       coalesce(sum(r.available) FILTER (WHERE NOT g.platform), 0)::BIGINT AS accounts_available,
       coalesce(sum(r.total - r.available) FILTER (WHERE NOT g.platform), 0)::BIGINT AS accounts_pending
FROM grid g ASOF LEFT JOIN running r ON r.platform = g.platform AND r.currency = g.currency AND g.day >= r.day
GROUP BY ALL
"""
NEGATIVE_SERIES_SQL = f"""
WITH running AS (
    SELECT account, currency, created::DATE AS day, sum(sum(net)) OVER (PARTITION BY account, currency ORDER BY
           created::DATE) AS balance
    FROM balance_transactions WHERE account IS NOT NULL AND created < $stop GROUP BY account, currency, created::DATE
),
ever AS (SELECT DISTINCT account, currency FROM running WHERE balance < 0),  -- the few that ever went below 0
grid AS (SELECT g.day, e.account, e.currency FROM {_GRID} g, ever e)
SELECT g.day, g.currency, coalesce(-sum(r.balance) FILTER (WHERE r.balance < 0), 0)::BIGINT,
       count(*) FILTER (WHERE r.balance < 0)
FROM grid g ASOF JOIN running r ON r.account = g.account AND r.currency = g.currency AND g.day >= r.day
GROUP BY ALL
"""
AWAITING_SERIES_SQL = f"""
WITH per_day AS (
    SELECT day, currency, sum(awaiting_transfer) AS awaiting FROM {cache.DAILY}
    WHERE NOT shift AND awaiting_transfer <> 0 AND day <= $end GROUP BY ALL
),
running AS (SELECT day, currency, sum(awaiting) OVER (PARTITION BY currency ORDER BY day) AS awaiting FROM per_day),
grid AS (SELECT g.day, c.currency FROM {_GRID} g, (SELECT DISTINCT currency FROM running) c)
SELECT g.day, g.currency, r.awaiting::BIGINT
FROM grid g ASOF JOIN running r ON r.currency = g.currency AND g.day >= r.day
"""
SERIES_DAYS = 400  # a longer period is shown weekly (each point a day's end all the same)


class FloatPoint(Float):
    day: date  # the balances at the end of this day (UTC)


def float_series(db: duckdb.DuckDBPyConnection, start: date, end: date, platform: str) -> list[FloatPoint]:
    """The same figures at the end of each day of [start, end] (weekly when longer than SERIES_DAYS)."""
    cache.ensure(db, platform)
    step = 1 if (end - start).days < SERIES_DAYS else 7
    params = {"start": start, "end": end, "stop": datetime.combine(end + timedelta(days=1), time())}
    rows = {(d, c): dict(zip(("platform_available", "platform_pending", "accounts_available", "accounts_pending"),
                             map(int, v)))
            for d, c, *v in db.execute(SERIES_SQL, params).fetchall()}
    for d, c, outstanding, accounts in db.execute(NEGATIVE_SERIES_SQL, params).fetchall():
        rows.setdefault((d, c), {}).update(negative_outstanding=int(outstanding), negative_accounts=int(accounts))
    params.pop("stop")
    for d, c, awaiting in db.execute(AWAITING_SERIES_SQL, params).fetchall():
        rows.setdefault((d, c), {}).update(awaiting_transfer=int(awaiting or 0))
    fields = [k for k in Float.model_fields if k != "currency"]
    return [FloatPoint(day=d, currency=c, **{k: v.get(k, 0) for k in fields})
            for (d, c), v in sorted(rows.items()) if (d - start).days % step == 0 or d == end]


def float_csv(points: list[FloatPoint]) -> str:
    fields = list(FloatPoint.model_fields)
    return csv_text(fields, ([p.day.isoformat() if f == "day" else getattr(p, f) for f in fields] for p in points))


def end_of(day: date) -> datetime:
    """The last instant of a UTC day, as the naive timestamps of the mirror."""
    return datetime.combine(day + timedelta(days=1), time()) - timedelta(microseconds=1)
