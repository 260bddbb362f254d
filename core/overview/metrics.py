"""Platform KPIs for the overview: pure functions, SQL in, typed rows out, money per currency.

GMV and net application fees use the definitions the Revenue page and `connect-ops revenue` use
(core/revenue/definitions.py): one meaning of each figure everywhere. GMV_CHARGES and GMV_MERCHANT are
re-exported here for the modules that import them from the overview.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import duckdb
from pydantic import BaseModel

from core.account_status import LABELS, STATUS_SQL, STATUSES
from core.revenue.definitions import (GMV_AMOUNT_SQL, GMV_CHARGES, GMV_MERCHANT,  # noqa: F401 (re-exported)
                                      NET_APPLICATION_FEES_SQL)

OPEN_DISPUTE_STATUSES = ("warning_needs_response", "needs_response", "warning_under_review", "under_review")


class Money(BaseModel):
    currency: str
    amount: int  # minor units
    count: int = 0


class StatusCount(BaseModel):
    status: str
    label: str
    count: int


class Overview(BaseModel):
    """Every figure on the overview page, each traceable to one query below."""

    accounts_by_status: list[StatusCount]
    gmv: list[Money]
    fee_revenue: list[Money]
    open_disputes: list[Money]
    failed_payouts: int
    accounts_needing_action: int


def _money(rows: Sequence[tuple]) -> list[Money]:
    return [Money(currency=c, amount=int(a or 0), count=int(n or 0)) for c, a, n in rows]


def accounts_by_status(db: duckdb.DuckDBPyConnection) -> list[StatusCount]:
    rows = dict(db.execute(f"SELECT {STATUS_SQL} AS status, count(*) FROM connected_accounts GROUP BY 1").fetchall())
    return [StatusCount(status=s, label=LABELS[s], count=int(rows.get(s, 0))) for s in STATUSES]


def gmv(db: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> list[Money]:
    """Succeeded charges by currency in [start, end): what buyers paid (the amount captured), refunds not
    deducted."""
    return _money(db.execute(
        f"""SELECT currency, sum({GMV_AMOUNT_SQL}), count(*) FILTER (WHERE {GMV_AMOUNT_SQL} > 0) FROM charges
            WHERE {GMV_CHARGES} AND created >= ? AND created < ?
            GROUP BY currency ORDER BY 2 DESC""", [start, end]).fetchall())


def fee_revenue(db: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> list[Money]:
    """Application fees net of fee refunds, by the fee's currency (revenue's fee part, by the fee's created)."""
    return _money(db.execute(
        f"""SELECT currency, sum({NET_APPLICATION_FEES_SQL}), count(*) FROM application_fees
            WHERE created >= ? AND created < ? GROUP BY currency ORDER BY 2 DESC""", [start, end]).fetchall())


def open_disputes(db: duckdb.DuckDBPyConnection) -> list[Money]:
    placeholders = ", ".join("?" for _ in OPEN_DISPUTE_STATUSES)
    return _money(db.execute(
        f"""SELECT currency, sum(amount), count(*) FROM disputes WHERE status IN ({placeholders})
            GROUP BY currency ORDER BY 3 DESC""", list(OPEN_DISPUTE_STATUSES)).fetchall())


def failed_payouts(db: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> int:
    """Connected accounts' payouts that failed, created in the period."""
    row = db.execute("""SELECT count(*) FROM payouts WHERE status = 'failed' AND account IS NOT NULL
                        AND created >= ? AND created < ?""", [start, end]).fetchone()
    return int(row[0]) if row else 0


def accounts_needing_action(db: duckdb.DuckDBPyConnection) -> int:
    """Accounts that are restricted (not rejected) or will be soon: someone has to chase them."""
    row = db.execute(f"SELECT count(*) FROM connected_accounts WHERE ({STATUS_SQL}) IN "
                     "('restricted', 'restricted_soon')").fetchone()
    return int(row[0]) if row else 0


def overview(db: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> Overview:
    return Overview(
        accounts_by_status=accounts_by_status(db),
        gmv=gmv(db, start, end),
        fee_revenue=fee_revenue(db, start, end),
        open_disputes=open_disputes(db),
        failed_payouts=failed_payouts(db, start, end),
        accounts_needing_action=accounts_needing_action(db),
    )
