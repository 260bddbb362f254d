"""The connected accounts list: the Merchants page before anyone searches, and `connect-ops accounts`.

    filters = AccountFilters.from_query_params({"status": "restricted", "sort": "volume", "dir": "desc"})
    page = accounts_page(cursor, filters)      -> AccountsPage(rows=[AccountRow, ...], total=..., page=...)
    export_csv(cursor, filters)                 -> every filtered account as CSV (the page's export, the CLI)

One row per connected account, the columns the Stripe Dashboard lists (status by its definitions, name,
id, country, type) plus what support and risk ask about first:

* **balance**: per currency, what the account's balance transactions add up to (available + pending,
  the same sums as the merchant page, `merchant.BALANCES_SQL`). Different currencies are never added.
* **volume**: succeeded charges in the chosen period, per currency, by the GMV definition of the
  overview (`metrics.GMV_CHARGES`): platform charges with a transfer destination and direct charges in
  the account's scope, never the `py_` payments transfers create.
* **requirements due** (`currently_due`, which holds the past-due items too) and their deadline,
  failed payouts, open disputes (`metrics.OPEN_DISPUTE_STATUSES`, on its direct charges and on platform
  charges made for it, as the merchant page counts them), the time of its last succeeded charge.

Filters and sorting live in the URL (`AccountFilters.to_query_params`), so a view can be shared; a bad
value there falls back to its default instead of failing the page. Money columns sort by currency
first, then by the amount in the account's default currency: amounts of different currencies are never
compared with each other. User input reaches DuckDB only as bound parameters; sort keys come from a
whitelist. The per-account figures are summed once per data version (see `_figures`). Every function
takes a DuckDB cursor first; nothing here imports Streamlit.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import duckdb
from pydantic import BaseModel, Field, field_validator

from core.account_status import LABELS, STATUS_SQL, STATUSES
from core.clock import utc_now
from core.export import csv_text
from core.money import format_amounts
from core.overview.metrics import GMV_CHARGES, GMV_MERCHANT, OPEN_DISPUTE_STATUSES
from core.support.merchant import BALANCES_SQL

TYPES = ("custom", "express", "standard", "none")
# The most urgent group an account's requirements are in (the merchant page's order), or none.
REQUIREMENT_STATES = ("past_due", "currently_due", "pending_verification", "eventually_due", "none")
REQUIREMENT_LABELS = {"past_due": "Past due", "currently_due": "Currently due",
                      "pending_verification": "Being verified", "eventually_due": "Eventually due",
                      "none": "Nothing due"}
PERIODS = (7, 30, 90, 365)
PAGE_SIZES = (25, 50, 100, 250)
MAX_METADATA_KEY = 40      # Stripe's limits for metadata keys and values
MAX_METADATA_VALUE = 500

# Sort column -> ORDER BY keys over the `listed` relation below (a whitelist: nothing else reaches SQL).
# A money column sorts by currency, then amount, so amounts in different currencies are never compared.
_MONEY = "__money__"
SORTS: dict[str, tuple[str, ...]] = {
    "status": ("status_rank",),
    "business_name": ("lower(strip_accents(business_name))",),
    "id": ("id",),
    "country": ("country",),
    "type": ("type",),
    "created": ("created",),
    "balance": (_MONEY, "balance_key"),
    "volume": (_MONEY, "volume_key"),
    "requirements_due": ("requirements_due", "past_due"),
    "deadline": ("deadline",),
    "failed_payouts": ("failed_payouts",),
    "open_disputes": ("open_disputes",),
    "last_charge": ("last_charge",),
}
SORT_LABELS = {"status": "Status", "business_name": "Business name", "id": "Account id", "country": "Country",
               "type": "Type", "created": "Created", "balance": "Balance", "volume": "Volume",
               "requirements_due": "Requirements due", "deadline": "Deadline", "failed_payouts": "Failed payouts",
               "open_disputes": "Open disputes", "last_charge": "Last charge"}

# URL names of the filters (the Merchants page owns no other query parameter but `account`).
QUERY_KEYS = ("status", "country", "type", "requirements", "failed_payouts", "open_disputes", "negative_balance",
              "meta_key", "meta_value", "period", "sort", "dir", "page", "page_size")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_TRUE = ("1", "true", "yes", "on")


class AccountFilters(BaseModel):
    """What the accounts list shows: filters, sort and page. Hashable (pages cache on it)."""

    model_config = {"frozen": True}

    status: tuple[str, ...] = ()            # any of STATUSES; empty: every status
    country: tuple[str, ...] = ()           # ISO 3166 alpha-2, upper case
    type: tuple[str, ...] = ()              # any of TYPES
    requirements: tuple[str, ...] = ()      # any of REQUIREMENT_STATES
    failed_payouts: bool = False            # has at least one failed payout
    open_disputes: bool = False             # has at least one open dispute
    negative_balance: bool = False          # balance below zero in at least one currency
    metadata_key: str | None = Field(default=None, max_length=MAX_METADATA_KEY)
    metadata_value: str | None = Field(default=None, max_length=MAX_METADATA_VALUE)  # exact; None: key present
    period_days: int = 30                   # volume over the last N days, one of PERIODS
    sort: str = "created"                   # a key of SORTS
    descending: bool = True
    page: int = Field(default=1, ge=1)
    page_size: int = 50                     # one of PAGE_SIZES

    @field_validator("status")
    @classmethod
    def _statuses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _subset(value, STATUSES, "status")

    @field_validator("type")
    @classmethod
    def _types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _subset(value, TYPES, "type")

    @field_validator("requirements")
    @classmethod
    def _requirement_states(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _subset(value, REQUIREMENT_STATES, "requirements")

    @field_validator("country", mode="before")
    @classmethod
    def _countries(cls, value: Any) -> tuple[str, ...]:
        codes = tuple(dict.fromkeys(str(v).strip().upper() for v in (value or ())))
        bad = [c for c in codes if not _COUNTRY.match(c)]
        if bad:
            raise ValueError(f"country must be two-letter codes such as US or FR, not {', '.join(bad)}")
        return codes

    @field_validator("metadata_key", "metadata_value", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value is None or (isinstance(value, str) and not value.strip()) else value

    @field_validator("period_days")
    @classmethod
    def _period(cls, value: int) -> int:
        if value not in PERIODS:
            raise ValueError(f"period_days must be one of {', '.join(map(str, PERIODS))}")
        return value

    @field_validator("sort")
    @classmethod
    def _sort(cls, value: str) -> str:
        if value not in SORTS:
            raise ValueError(f"sort must be one of {', '.join(SORTS)}")
        return value

    @field_validator("page_size")
    @classmethod
    def _page_size(cls, value: int) -> int:
        if value not in PAGE_SIZES:
            raise ValueError(f"page_size must be one of {', '.join(map(str, PAGE_SIZES))}")
        return value

    # -- the URL

    @classmethod
    def from_query_params(cls, params: Mapping[str, Any]) -> AccountFilters:
        """Filters from URL query parameters; an unknown or bad value falls back to its default, never raises.

        Lists are comma-separated (`status=restricted,in_review`) or repeated keys (a mapping value that is
        a list, or `st.query_params`, whose `get_all` gives every value).
        """
        def values(key: str) -> list[str]:
            get_all = getattr(params, "get_all", None)
            raw = get_all(key) if callable(get_all) else params.get(key)
            if raw is None:
                return []
            items = raw if isinstance(raw, (list, tuple)) else [raw]
            return [part.strip() for item in items for part in str(item).split(",") if part.strip()]

        def one(key: str) -> str | None:
            found = values(key)
            return found[-1] if found else None

        def text(key: str) -> str | None:  # free text: commas are part of it
            get_all = getattr(params, "get_all", None)
            raw = get_all(key) if callable(get_all) else params.get(key)
            if isinstance(raw, (list, tuple)):
                raw = raw[-1] if raw else None
            return raw if isinstance(raw, str) else None

        def number(key: str) -> int | None:
            found = one(key)
            return int(found) if found and found.isascii() and found.isdigit() and len(found) < 10 else None

        fields: dict[str, Any] = {
            "status": tuple(v for v in values("status") if v in STATUSES),
            "country": tuple(v.upper() for v in values("country") if _COUNTRY.match(v.upper())),
            "type": tuple(v for v in values("type") if v in TYPES),
            "requirements": tuple(v for v in values("requirements") if v in REQUIREMENT_STATES),
            "failed_payouts": (one("failed_payouts") or "").lower() in _TRUE,
            "open_disputes": (one("open_disputes") or "").lower() in _TRUE,
            "negative_balance": (one("negative_balance") or "").lower() in _TRUE,
        }
        direction = (one("dir") or "").lower()
        if direction in ("asc", "desc"):
            fields["descending"] = direction == "desc"
        key, value = text("meta_key"), text("meta_value")
        if key and key.strip() and len(key.strip()) <= MAX_METADATA_KEY:
            fields["metadata_key"] = key.strip()
            if value and value.strip() and len(value) <= MAX_METADATA_VALUE:
                fields["metadata_value"] = value
        if number("period") in PERIODS:
            fields["period_days"] = number("period")
        if one("sort") in SORTS:
            fields["sort"] = one("sort")
        if number("page_size") in PAGE_SIZES:
            fields["page_size"] = number("page_size")
        page = number("page")
        if page is not None and page >= 1:
            fields["page"] = page
        return cls(**{k: tuple(dict.fromkeys(v)) if isinstance(v, tuple) else v for k, v in fields.items()})

    def to_query_params(self) -> dict[str, str]:
        """The URL query parameters of this view: only what differs from the defaults."""
        defaults = AccountFilters()
        out: dict[str, str] = {}
        for name in ("status", "country", "type", "requirements"):
            if getattr(self, name):
                out[name] = ",".join(getattr(self, name))
        for name in ("failed_payouts", "open_disputes", "negative_balance"):
            if getattr(self, name):
                out[name] = "1"
        if self.metadata_key:
            out["meta_key"] = self.metadata_key
            if self.metadata_value is not None:
                out["meta_value"] = self.metadata_value
        if self.period_days != defaults.period_days:
            out["period"] = str(self.period_days)
        if self.sort != defaults.sort:
            out["sort"] = self.sort
        if self.descending != defaults.descending:
            out["dir"] = "desc" if self.descending else "asc"
        if self.page != 1:
            out["page"] = str(self.page)
        if self.page_size != defaults.page_size:
            out["page_size"] = str(self.page_size)
        return out


def _subset(value: tuple[str, ...], allowed: tuple[str, ...], name: str) -> tuple[str, ...]:
    bad = [v for v in value if v not in allowed]
    if bad:
        raise ValueError(f"{name} must be among {', '.join(allowed)}; not {', '.join(bad)}")
    return tuple(dict.fromkeys(value))


# --------------------------------------------------------------------------- rows


class AccountRow(BaseModel):
    id: str
    business_name: str | None
    email: str | None
    country: str | None
    type: str | None
    status: str
    status_label: str
    created: datetime | None
    default_currency: str | None
    balance: dict[str, int]          # currency -> minor units (available + pending); never summed across
    volume: dict[str, int]           # currency -> minor units of succeeded GMV charges in the period
    requirements_due: int            # currently_due items (past-due items included)
    past_due: int
    deadline: datetime | None        # requirements.current_deadline
    failed_payouts: int
    open_disputes: int
    last_charge: datetime | None     # the latest succeeded GMV charge, any time

    @property
    def balance_text(self) -> str:
        return format_amounts(self.balance)

    @property
    def volume_text(self) -> str:
        return format_amounts(self.volume)


class AccountsPage(BaseModel):
    rows: list[AccountRow]
    total: int                       # accounts matching the filters, every page
    page: int                        # the page shown (the last one when the asked page is past the end)
    page_size: int
    period_days: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


# --------------------------------------------------------------------------- per-account figures
#
# Balances, volumes, disputes and payouts come from the big tables (at the large demo: 3.7M balance
# transactions, 1.8M charges, 0.8M transfers); summing them costs ~100 ms on an idle 2-core machine and
# several times that under load, for every filter or sort someone tries. They change only when the mirror
# does, so they are computed once per database and data version (row count and newest `synced_at` of each
# table they read; every write moves one or the other) and minute (the volume periods end at `now`), kept
# in-process as a small Arrow table (one row per account), and each page is a query over
# `connected_accounts` joined with it. The figures' definitions stay in SQL here and in the modules they
# are shared with (merchant.BALANCES_SQL, metrics.GMV_CHARGES).

_FIGURE_TABLES = ("connected_accounts", "charges", "balance_transactions", "payouts", "disputes", "transfers")
_VERSION_SQL = ("SELECT (SELECT path FROM duckdb_databases() WHERE database_name = current_database()), "
                + ", ".join(f"(SELECT count(*) FROM {t}), (SELECT max(synced_at) FROM {t})" for t in _FIGURE_TABLES))
_VOLUMES = ", ".join(f"sum(amount) FILTER (WHERE created >= $since_{d} AND created < $now) AS volume_{d}"
                     for d in PERIODS)
_VOLUME_LISTS = ", ".join(
    f"list({{'currency': currency, 'amount': volume_{d}}} ORDER BY currency) FILTER (WHERE volume_{d} IS NOT NULL) "
    f"AS volume_{d}" for d in PERIODS)
_FIGURES_SQL = f"""
WITH balance_by_currency AS (
    SELECT account, currency, coalesce(available, 0) + pending AS amount FROM ({BALANCES_SQL})
),
balance AS (
    SELECT account, list({{'currency': currency, 'amount': amount}} ORDER BY currency) AS balance,
           bool_or(amount < 0) AS negative_balance
    FROM balance_by_currency GROUP BY account
),
gmv_by_currency AS (
    SELECT {GMV_MERCHANT} AS account, currency, {_VOLUMES}, max(created) AS last_charge
    FROM charges WHERE {GMV_CHARGES} AND {GMV_MERCHANT} IS NOT NULL
    GROUP BY ALL
),
gmv AS (
    SELECT account, {_VOLUME_LISTS}, max(last_charge) AS last_charge FROM gmv_by_currency GROUP BY account
),
failed AS (
    SELECT account, count(*) AS failed_payouts FROM payouts
    WHERE status = 'failed' AND account IS NOT NULL GROUP BY account
),
open_disputes AS (  -- on its direct charges, and on platform charges made for it (destination or transferred)
    SELECT account, count(DISTINCT dispute) AS open_disputes FROM (
        SELECT account, id AS dispute FROM disputes
        WHERE account IS NOT NULL AND list_contains($open_statuses, status)
        UNION ALL
        SELECT c.transfer_destination_id, d.id FROM disputes d
        JOIN (SELECT id, transfer_destination_id FROM charges
              WHERE disputed AND account IS NULL AND transfer_destination_id IS NOT NULL) c ON c.id = d.charge_id
        WHERE d.account IS NULL AND list_contains($open_statuses, d.status)
        UNION ALL
        SELECT t.destination_id, d.id FROM disputes d JOIN transfers t ON t.source_transaction_id = d.charge_id
        WHERE d.account IS NULL AND t.account IS NULL AND t.destination_id IS NOT NULL
          AND list_contains($open_statuses, d.status)
    ) GROUP BY account
),
accts AS (  -- the most urgent requirements (the merchant page's order) and metadata: one JSON parse each
    SELECT id,
           CASE WHEN coalesce(requirements_past_due_count, 0) > 0 THEN 'past_due'
                WHEN coalesce(requirements_currently_due_count, 0) > 0 THEN 'currently_due'
                WHEN coalesce(json_array_length(j[1]), 0) > 0 THEN 'pending_verification'
                WHEN coalesce(json_array_length(j[2]), 0) > 0 THEN 'eventually_due'
                ELSE 'none' END AS requirement_state,
           TRY_CAST(j[3] AS MAP(VARCHAR, VARCHAR)) AS metadata
    FROM (SELECT *, json_extract(raw, ['$.requirements.pending_verification', '$.requirements.eventually_due',
                                       '$.metadata']) AS j
          FROM connected_accounts WHERE account IS NULL)
)
SELECT a.id, a.requirement_state, a.metadata,
       coalesce(b.balance, []) AS balance, coalesce(b.negative_balance, false) AS negative_balance,
       {", ".join(f"coalesce(g.volume_{d}, []) AS volume_{d}" for d in PERIODS)},
       g.last_charge, coalesce(f.failed_payouts, 0) AS failed_payouts, coalesce(o.open_disputes, 0) AS open_disputes
FROM accts a
LEFT JOIN balance b ON b.account = a.id
LEFT JOIN gmv g ON g.account = a.id
LEFT JOIN failed f ON f.account = a.id
LEFT JOIN open_disputes o ON o.account = a.id"""

_FIGURES: dict[tuple[Any, ...], Any] = {}  # (database, data version, now) -> pyarrow.Table
_FIGURES_LOCK = threading.Lock()


def _figures(db: duckdb.DuckDBPyConnection, now: datetime) -> Any:
    """Every account's figures (an Arrow table), from the cache while the mirror has not changed."""
    row = db.execute(_VERSION_SQL).fetchall()[0]
    path = row[0] or f"memory:{id(db)}"  # an in-memory database is never shared
    key = (path, *row[1:], now)
    with _FIGURES_LOCK:
        table = _FIGURES.get(key)
    if table is None:
        params: dict[str, Any] = {"now": now, "open_statuses": list(OPEN_DISPUTE_STATUSES),
                                  **{f"since_{d}": now - timedelta(days=d) for d in PERIODS}}
        table = db.sql(_FIGURES_SQL, params=params).to_arrow_table()
        with _FIGURES_LOCK:
            for old in [k for k in _FIGURES if k[0] == path]:
                del _FIGURES[old]
            _FIGURES[key] = table
    return table


def _sql(filters: AccountFilters) -> tuple[str, dict[str, Any]]:
    """The list over `connected_accounts` and the registered `account_figures`: the ordered, filtered
    accounts with `total` = how many matched, and the named parameters; the caller adds LIMIT/OFFSET."""
    params: dict[str, Any] = {}
    where: list[str] = ["a.account IS NULL"]  # connected accounts are platform objects
    if filters.status:
        where.append(f"list_contains($statuses, {STATUS_SQL})")
        params["statuses"] = list(filters.status)
    if filters.country:
        where.append("list_contains($countries, a.country)")
        params["countries"] = list(filters.country)
    if filters.type:
        where.append("list_contains($types, a.type)")
        params["types"] = list(filters.type)
    if filters.requirements:
        where.append("list_contains($requirement_states, f.requirement_state)")
        params["requirement_states"] = list(filters.requirements)
    if filters.metadata_key:
        params["meta_key"] = filters.metadata_key
        if filters.metadata_value is None:
            where.append("coalesce(map_contains(f.metadata, $meta_key), false)")
        else:
            where.append("f.metadata[$meta_key] = $meta_value")
            params["meta_value"] = filters.metadata_value
    if filters.failed_payouts:
        where.append("f.failed_payouts > 0")
    if filters.open_disputes:
        where.append("f.open_disputes > 0")
    if filters.negative_balance:
        where.append("f.negative_balance")

    direction = "DESC" if filters.descending else "ASC"
    order = ["default_currency ASC NULLS LAST" if key == _MONEY else f"{key} {direction} NULLS LAST"
             for key in SORTS[filters.sort]] + ["id ASC"]
    status_rank = "CASE status " + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(STATUSES)) + " END"
    volume = f"volume_{int(filters.period_days)}"  # one of PERIODS (validated)
    sql = f"""
WITH listed AS (
    SELECT a.id, a.business_name, a.email, a.country, a.type, a.default_currency, a.created,
           {STATUS_SQL} AS status,
           coalesce(a.requirements_currently_due_count, 0) AS requirements_due,
           coalesce(a.requirements_past_due_count, 0) AS past_due,
           a.requirements_current_deadline AS deadline,
           coalesce(f.balance, []) AS balance, coalesce(f.{volume}, []) AS volume, f.last_charge,
           coalesce(f.failed_payouts, 0) AS failed_payouts, coalesce(f.open_disputes, 0) AS open_disputes
    FROM connected_accounts a LEFT JOIN account_figures f ON f.id = a.id
    WHERE {' AND '.join(where)}
)
SELECT id, business_name, email, country, type, status, created, default_currency, balance, volume,
       requirements_due, past_due, deadline, failed_payouts, open_disputes, last_charge,
       count(*) OVER () AS total
FROM (SELECT *, {status_rank} AS status_rank,
             list_filter(balance, lambda x: x.currency = default_currency)[1].amount AS balance_key,
             list_filter(volume, lambda x: x.currency = default_currency)[1].amount AS volume_key
      FROM listed)
ORDER BY {', '.join(order)}"""
    return sql, params


def _now(now: datetime | None) -> datetime:
    """The end of the volume periods: given, or this minute (UTC), so figures are reused within it."""
    return now or utc_now().replace(second=0, microsecond=0)


def _run(db: duckdb.DuckDBPyConnection, now: datetime, sql: str,
         params: dict[str, Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of `sql` with this version's figures registered as `account_figures`."""
    db.register("account_figures", _figures(db, now))
    try:
        result = db.execute(sql, params)
        return [d[0] for d in result.description], result.fetchall()
    finally:
        db.unregister("account_figures")


def _fetch(db: duckdb.DuckDBPyConnection, filters: AccountFilters, now: datetime, limit: int | None,
           offset: int = 0) -> tuple[list[AccountRow], int | None]:
    sql, params = _sql(filters)
    if limit is not None:
        sql += "\nLIMIT $limit OFFSET $offset"
        params.update(limit=limit, offset=offset)
    names, found = _run(db, now, sql, params)
    rows, total = [], None
    for values in found:
        row = dict(zip(names, values))
        total = row.pop("total")
        row["balance"] = {m["currency"]: int(m["amount"]) for m in row["balance"]}
        row["volume"] = {m["currency"]: int(m["amount"]) for m in row["volume"]}
        row["status_label"] = LABELS[row["status"]]
        rows.append(AccountRow(**row))
    return rows, total


def _count(db: duckdb.DuckDBPyConnection, filters: AccountFilters, now: datetime) -> int:
    sql, params = _sql(filters)
    _, found = _run(db, now, f"SELECT count(*) FROM ({sql})", params)
    return int(found[0][0]) if found else 0


def accounts_page(db: duckdb.DuckDBPyConnection, filters: AccountFilters,
                  now: datetime | None = None) -> AccountsPage:
    """One page of the list and how many accounts match; a page past the end shows the last page.

    `now` ends the volume periods (default: this minute, UTC)."""
    now = _now(now)
    page = filters.page
    rows, total = _fetch(db, filters, now, filters.page_size, (page - 1) * filters.page_size)
    if total is None:  # nothing on this page: nothing matched, or the page is past the end
        total = _count(db, filters, now) if page > 1 else 0
        last = max(1, -(-total // filters.page_size))
        if total and page > last:
            page = last
            rows, _ = _fetch(db, filters, now, filters.page_size, (page - 1) * filters.page_size)
    return AccountsPage(rows=rows, total=total, page=page, page_size=filters.page_size,
                        period_days=filters.period_days)


def accounts_rows(db: duckdb.DuckDBPyConnection, filters: AccountFilters,
                  now: datetime | None = None) -> list[AccountRow]:
    """Every account matching the filters, in the list's order (the export); pagination is ignored."""
    return _fetch(db, filters, _now(now), None)[0]


def countries(db: duckdb.DuckDBPyConnection) -> list[str]:
    """Countries of the connected accounts, for the filter's choices."""
    return [r[0] for r in db.execute("SELECT DISTINCT country FROM connected_accounts WHERE account IS NULL "
                                     "AND country IS NOT NULL ORDER BY 1").fetchall()]


# --------------------------------------------------------------------------- what pages and exports show


def table_rows(rows: list[AccountRow]) -> list[dict[str, Any]]:
    """Rows for the page's table: money as text per currency, status as its Dashboard label."""
    return [{"status": [row.status_label], "business_name": row.business_name, "id": row.id,
             "country": row.country, "type": row.type, "balance": row.balance_text, "volume": row.volume_text,
             "requirements_due": row.requirements_due, "deadline": row.deadline,
             "failed_payouts": row.failed_payouts, "open_disputes": row.open_disputes,
             "last_charge": row.last_charge, "created": row.created} for row in rows]


CSV_COLUMNS = ("id", "business_name", "email", "status", "country", "type", "created", "balance", "volume",
               "volume_period_days", "requirements_due", "past_due", "deadline", "failed_payouts", "open_disputes",
               "last_charge")


def _cell(value: Any) -> Any:
    return value.isoformat(sep=" ") if isinstance(value, datetime) else value


def accounts_csv(rows: list[AccountRow], period_days: int) -> str:
    """The list as CSV: what the page shows, plus one machine column per currency in minor units
    (`balance_usd_minor`, `volume_eur_minor`, ...), so nothing needs parsing back from text. Merchant
    text that a spreadsheet would run as a formula is made inert by core/export.py."""
    currencies = {k: sorted({c for row in rows for c in getattr(row, k)}) for k in ("balance", "volume")}
    money_columns = [(k, c) for k in ("balance", "volume") for c in currencies[k]]

    def cells(row: AccountRow) -> list[Any]:
        data = row.model_dump()
        data.update(status=row.status_label, balance=row.balance_text, volume=row.volume_text,
                    volume_period_days=period_days)
        return [*(_cell(data[c]) for c in CSV_COLUMNS), *(getattr(row, k).get(c, "") for k, c in money_columns)]

    return csv_text([*CSV_COLUMNS, *(f"{k}_{c}_minor" for k, c in money_columns)], (cells(row) for row in rows))


def export_csv(db: duckdb.DuckDBPyConnection, filters: AccountFilters) -> str:
    """Every filtered account as CSV (what the page's download button and the CLI write)."""
    return accounts_csv(accounts_rows(db, filters), filters.period_days)
