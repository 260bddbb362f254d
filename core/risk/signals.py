"""The numbers behind every risk signal, per connected account, read from the mirror in one SQL statement.

What belongs to a merchant: the charges it made (direct charges in its scope, destination charges to it,
separate charges transferred to it: the merchant page's set, never the `py_` payments transfers create),
the disputes on those charges, its payouts and balance, its bank accounts. Counts, not amounts, make the
rates (the networks count transactions); volumes are per currency and never added across currencies.

This module only measures. Which measurement is a signal, how much it weighs and how it reads is
core/risk/score.py's; the windows and lines come from core/risk/rules.py. Nothing imports Streamlit.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import duckdb
from pydantic import BaseModel

from core.account_status import STATUS_SQL
from core.risk import rules
from core.risk.months import BrandMonth, DisputeMonth, worst
from core.support.merchant import BALANCES_SQL


class Volume(BaseModel):
    """Succeeded charges of one currency, in minor units."""

    currency: str
    recent: int       # the recent window (rules: recent_days)
    baseline: int     # the baseline window before it (rules: baseline_days), in total
    lifetime: int


class AccountMetrics(BaseModel):
    """What the mirror says about one account, as numbers; `now` is when they were measured."""

    id: str
    business_name: str | None
    email: str | None
    country: str | None
    type: str | None
    status: str
    created: datetime | None
    default_currency: str | None
    disabled_reason: str | None
    past_due: list[str]
    currently_due_count: int
    current_deadline: datetime | None
    charges_enabled: bool
    payouts_enabled: bool
    # charges in the rate window, by charge date
    attempts: int = 0
    risky: int = 0           # Radar's elevated or highest, or blocked
    settled: int = 0         # succeeded
    refunded: int = 0        # succeeded, then refunded (fully or partly)
    disputed: int = 0        # succeeded, then disputed (the dispute rate's numerator; inquiries apart)
    inquired: int = 0        # succeeded, then only ever an inquiry (warning_*): not a chargeback
    recent_charges: int = 0
    baseline_charges: int = 0
    lifetime_charges: int = 0
    volumes: list[Volume] = []
    brand_months: list[BrandMonth] = []      # per month and card brand, from the month before the first
    worst_month: DisputeMonth | None = None  # the worst month of Stripe's dispute activity (all brands)
    visa_month: DisputeMonth | None = None   # the worst month of Visa's VAMP ratio (card-not-present)
    mastercard_month: DisputeMonth | None = None  # the worst month of Mastercard's ECP ratio
    failed_payouts: int = 0
    last_failed_payout: datetime | None = None
    negative_balances: dict[str, int] = {}   # currency -> minor units below zero
    balances: dict[str, int] = {}            # currency -> minor units, available + pending, every non-zero one
    open_disputes: list[tuple[str, int]] = []    # (currency, minor units) of each dispute still open
    pending_refunds: list[tuple[str, int]] = []  # (currency, minor units) of each refund not yet through
    losses_payments: str | None = None       # controller.losses.payments: who bears negative balances
    shared_with: list[str] = []              # other accounts paying out to one of its bank accounts
    shared_with_rejected: list[str] = []     # ... of which rejected
    now: datetime

    @property
    def age_days(self) -> float | None:
        return None if self.created is None else (self.now - self.created).total_seconds() / 86_400


def windows(now: datetime) -> dict[str, datetime]:
    """The start of every window, from the rules in force today."""
    today = now.date()
    months = int(rules.value(today, "dispute_months"))
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    recent = now - timedelta(days=rules.value(today, "recent_days"))
    return {
        "now": now,
        "rate_since": now - timedelta(days=rules.value(today, "rate_window_days")),
        "recent_since": recent,
        "baseline_since": recent - timedelta(days=rules.value(today, "baseline_days")),
        "previous_month_since": (first - timedelta(days=1)).replace(day=1),
        "failed_since": now - timedelta(days=rules.value(today, "failed_payout_days")),
    }


# The charges of each merchant; every CTE below reads this one relation.
MERCHANT_CHARGES = """
transferred AS (   -- separate (and destination) charges: the account their transfer went to
    SELECT source_transaction_id AS charge_id, any_value(destination_id) AS destination
    FROM transfers WHERE account IS NULL AND source_transaction_id IS NOT NULL AND destination_id IS NOT NULL
    GROUP BY 1
),
cm AS MATERIALIZED (
    SELECT c.id, coalesce(c.account, c.transfer_destination_id, t.destination) AS merchant, c.created, c.status,
           c.currency, c.amount, coalesce(c.amount_refunded, 0) AS amount_refunded,
           coalesce(c.disputed, false) AS disputed, coalesce(c.card_brand, c.payment_method_type, 'other') AS brand,
           coalesce(c.payment_method_type = 'card_present', false) AS present,
           (c.outcome_risk_level IN ('elevated', 'highest') OR c.outcome_type = 'blocked') AS risky
    FROM charges c LEFT JOIN transferred t ON t.charge_id = c.id
    WHERE c.source_transfer_id IS NULL AND coalesce(c.account, c.transfer_destination_id, t.destination) IS NOT NULL
)"""

METRICS_SQL = f"""
WITH {MERCHANT_CHARGES},
inquiries AS (     -- Stripe's inquiries (warning_*) are not chargebacks: the networks do not count them
    SELECT cm.id, bool_and(d.status LIKE 'warning%') AS inquiry_only
    FROM disputes d JOIN cm ON cm.id = d.charge_id GROUP BY 1
),
rates AS (
    SELECT merchant,
           count(*) FILTER (WHERE created >= $rate_since) AS attempts,
           count(*) FILTER (WHERE created >= $rate_since AND risky) AS risky,
           count(*) FILTER (WHERE created >= $rate_since AND status = 'succeeded') AS settled,
           count(*) FILTER (WHERE created >= $rate_since AND status = 'succeeded' AND amount_refunded > 0) AS refunded,
           count(*) FILTER (WHERE created >= $rate_since AND status = 'succeeded' AND disputed
                                  AND NOT coalesce(q.inquiry_only, false)) AS disputed,
           count(*) FILTER (WHERE created >= $rate_since AND status = 'succeeded' AND q.inquiry_only) AS inquired,
           count(*) FILTER (WHERE status = 'succeeded' AND created >= $recent_since) AS recent_charges,
           count(*) FILTER (WHERE status = 'succeeded' AND created >= $baseline_since
                                  AND created < $recent_since) AS baseline_charges,
           count(*) FILTER (WHERE status = 'succeeded') AS lifetime_charges
    FROM cm LEFT JOIN inquiries q USING (id) GROUP BY merchant
),
volumes AS (
    SELECT merchant, list({{'currency': currency, 'recent': recent, 'baseline': baseline, 'lifetime': lifetime}}
                          ORDER BY currency) AS volumes
    FROM (SELECT merchant, currency,
                 coalesce(sum(amount) FILTER (WHERE created >= $recent_since), 0) AS recent,
                 coalesce(sum(amount) FILTER (WHERE created >= $baseline_since AND created < $recent_since), 0)
                     AS baseline,
                 sum(amount) AS lifetime
          FROM cm WHERE status = 'succeeded' GROUP BY ALL)
    GROUP BY merchant
),
brand_settled AS (
    SELECT merchant, date_trunc('month', created) AS month, brand, count(*) AS settled,
           count(*) FILTER (WHERE NOT present) AS settled_cnp
    FROM cm WHERE status = 'succeeded' AND created >= $previous_month_since AND created < $now GROUP BY ALL
),
chargebacks AS (
    SELECT cm.merchant, date_trunc('month', d.created) AS month, cm.brand,
           count(*) FILTER (WHERE d.status NOT LIKE 'warning%') AS disputes,
           count(*) FILTER (WHERE d.status LIKE 'warning%') AS inquiries,
           count(*) FILTER (WHERE d.status NOT LIKE 'warning%' AND NOT cm.present) AS disputes_cnp
    FROM disputes d JOIN cm ON cm.id = d.charge_id
    WHERE d.created >= $previous_month_since AND d.created < $now GROUP BY ALL
),
reports AS (      -- issuers' fraud reports (Radar's early fraud warnings) on charges with no chargeback: VAMP
                  -- counts a report and a dispute on one sale once
    SELECT cm.merchant, date_trunc('month', min(w.created)) AS month, cm.brand, any_value(cm.present) AS present
    FROM {{efw}} w JOIN cm ON cm.id = w.charge_id
    WHERE w.charge_id NOT IN (SELECT charge_id FROM disputes WHERE status NOT LIKE 'warning%' AND charge_id IS NOT NULL)
    GROUP BY cm.merchant, cm.id, cm.brand
),
brand_reports AS (
    SELECT merchant, month, brand, count(*) FILTER (WHERE NOT present) AS reports_cnp FROM reports
    WHERE month >= $previous_month_since AND month < $now GROUP BY ALL
),
brand_disputes AS (
    SELECT coalesce(d.merchant, r.merchant) AS merchant, coalesce(d.month, r.month) AS month,
           coalesce(d.brand, r.brand) AS brand, coalesce(d.disputes, 0) AS disputes,
           coalesce(d.inquiries, 0) AS inquiries, coalesce(d.disputes_cnp, 0) AS disputes_cnp,
           coalesce(r.reports_cnp, 0) AS reports_cnp
    FROM chargebacks d FULL OUTER JOIN brand_reports r
         ON r.merchant = d.merchant AND r.month = d.month AND r.brand = d.brand
),
brand_months AS (
    SELECT coalesce(s.merchant, d.merchant) AS merchant,
           list({{'month': coalesce(s.month, d.month), 'brand': coalesce(s.brand, d.brand),
                  'settled': coalesce(s.settled, 0), 'settled_cnp': coalesce(s.settled_cnp, 0),
                  'disputes': coalesce(d.disputes, 0), 'disputes_cnp': coalesce(d.disputes_cnp, 0),
                  'inquiries': coalesce(d.inquiries, 0), 'reports_cnp': coalesce(d.reports_cnp, 0)}})
               AS brand_months
    FROM brand_settled s FULL OUTER JOIN brand_disputes d
         ON d.merchant = s.merchant AND d.month = s.month AND d.brand = s.brand
    GROUP BY 1
),
failed AS (
    SELECT account AS merchant, count(*) AS failed_payouts, max(created) AS last_failed_payout FROM payouts
    WHERE account IS NOT NULL AND status = 'failed' AND created >= $failed_since GROUP BY 1
),
negative AS (      -- every balance (for a rejected account's exposure), and the ones below zero
    SELECT account AS merchant,
           list({{'currency': currency, 'amount': amount}} ORDER BY currency) FILTER (WHERE amount < 0) AS negative,
           list({{'currency': currency, 'amount': amount}} ORDER BY currency) FILTER (WHERE amount <> 0) AS balances
    FROM (SELECT account, currency, coalesce(available, 0) + pending AS amount FROM ({BALANCES_SQL}))
    GROUP BY 1
),
open_disputes AS ( -- still open (inquiries included: money may yet move)
    SELECT cm.merchant, list({{'currency': d.currency, 'amount': d.amount}}) AS open_disputes
    FROM disputes d JOIN cm ON cm.id = d.charge_id
    WHERE d.status IN ('needs_response', 'under_review', 'warning_needs_response', 'warning_under_review')
    GROUP BY 1
),
pending_refunds AS (
    SELECT cm.merchant, list({{'currency': r.currency, 'amount': r.amount}}) AS pending_refunds
    FROM refunds r JOIN cm ON cm.id = r.charge_id WHERE r.status IN ('pending', 'requires_action') GROUP BY 1
),
fingerprints AS (
    SELECT id, requirements_disabled_reason AS reason,
           unnest(json_extract_string(raw, '$.external_accounts.data[*].fingerprint')) AS fingerprint
    FROM connected_accounts WHERE account IS NULL
),
shared AS (
    SELECT mine.id AS merchant, list_sort(list_distinct(list(other.id))) AS shared_with,
           list_sort(list_distinct(list(other.id) FILTER (WHERE other.reason LIKE 'rejected.%')))
               AS shared_with_rejected
    FROM fingerprints mine JOIN fingerprints other ON other.fingerprint = mine.fingerprint AND other.id <> mine.id
    GROUP BY 1
)
SELECT a.id, a.business_name, a.email, a.country, a.type, {STATUS_SQL} AS status, a.created, a.default_currency,
       a.requirements_disabled_reason AS disabled_reason,
       coalesce(json_extract_string(a.raw, '$.requirements.past_due[*]'), []) AS past_due,
       coalesce(a.requirements_currently_due_count, 0) AS currently_due_count,
       a.requirements_current_deadline AS current_deadline,
       coalesce(a.charges_enabled, false) AS charges_enabled, coalesce(a.payouts_enabled, false) AS payouts_enabled,
       coalesce(r.attempts, 0) AS attempts, coalesce(r.risky, 0) AS risky, coalesce(r.settled, 0) AS settled,
       coalesce(r.refunded, 0) AS refunded, coalesce(r.disputed, 0) AS disputed,
       coalesce(r.recent_charges, 0) AS recent_charges, coalesce(r.baseline_charges, 0) AS baseline_charges,
       coalesce(r.lifetime_charges, 0) AS lifetime_charges, coalesce(v.volumes, []) AS volumes,
       coalesce(r.inquired, 0) AS inquired, coalesce(w.brand_months, []) AS brand_months,
       coalesce(f.failed_payouts, 0) AS failed_payouts, f.last_failed_payout,
       coalesce(n.negative, []) AS negative_balances, coalesce(n.balances, []) AS balances,
       coalesce(od.open_disputes, []) AS open_disputes, coalesce(pr.pending_refunds, []) AS pending_refunds,
       json_extract_string(a.raw, '$.controller.losses.payments') AS losses_payments,
       coalesce(s.shared_with, []) AS shared_with,
       coalesce(s.shared_with_rejected, []) AS shared_with_rejected
FROM connected_accounts a
LEFT JOIN rates r ON r.merchant = a.id
LEFT JOIN volumes v ON v.merchant = a.id
LEFT JOIN brand_months w ON w.merchant = a.id
LEFT JOIN failed f ON f.merchant = a.id
LEFT JOIN negative n ON n.merchant = a.id
LEFT JOIN open_disputes od ON od.merchant = a.id
LEFT JOIN pending_refunds pr ON pr.merchant = a.id
LEFT JOIN shared s ON s.merchant = a.id
WHERE a.account IS NULL {{account_filter}}
ORDER BY a.id"""


def first_month(now: datetime) -> date:
    """The first calendar month whose dispute activity counts (rules: dispute_months, the current one included)."""
    first = now.date().replace(day=1)
    for _ in range(int(rules.value(now.date(), "dispute_months")) - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    return first


def with_views(m: AccountMetrics) -> AccountMetrics:
    """The account with each view's worst month found on its own (core/risk/months.py), from its brand months."""
    since, z = first_month(m.now), rules.value(m.now.date(), "confidence_z")
    return m.model_copy(update={view + "_month" if view != "all" else "worst_month": worst(m.brand_months, view,
                                                                                            since, z)
                                for view in ("all", "visa", "mastercard")})


def _metrics(row: dict[str, Any], now: datetime) -> AccountMetrics:
    row["negative_balances"] = {b["currency"]: int(b["amount"]) for b in row["negative_balances"]}
    row["balances"] = {b["currency"]: int(b["amount"]) for b in row["balances"]}
    for key in ("open_disputes", "pending_refunds"):
        row[key] = [(d["currency"], int(d["amount"] or 0)) for d in row[key]]
    row["brand_months"] = [dict(b, month=b["month"].date() if isinstance(b["month"], datetime) else b["month"])
                           for b in row["brand_months"]]
    return with_views(AccountMetrics(**row, now=now))


# A mirror written before migration 10 and opened read-only (the CLI) has no early fraud warnings table.
NO_WARNINGS = "(SELECT NULL::VARCHAR AS charge_id, NULL::TIMESTAMP AS created WHERE false)"


def _has_table(db: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(db.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchall()[0][0])


def account_metrics(db: duckdb.DuckDBPyConnection, now: datetime,
                    account_id: str | None = None) -> list[AccountMetrics]:
    """Every connected account's numbers (or one account's), measured at `now` (naive UTC)."""
    params: dict[str, Any] = windows(now)
    sql = METRICS_SQL.replace("{account_filter}", "AND a.id = $account" if account_id else "").replace(
        "{efw}", "early_fraud_warnings" if _has_table(db, "early_fraud_warnings") else NO_WARNINGS)
    if account_id:
        params["account"] = account_id
    result = db.execute(sql, params)
    names = [d[0] for d in result.description]
    return [_metrics(dict(zip(names, values)), now) for values in result.fetchall()]


# --------------------------------------------------------------------------- one account's story


class MonthRow(BaseModel):
    """One calendar month of an account, for its charts."""

    month: date
    settled: int                 # succeeded charges made that month
    disputes: int                # disputes opened that month (dispute activity's numerator)
    disputes_on_charges: int     # disputes, whenever opened, on the charges of that month (dispute rate's)
    volumes: dict[str, int]      # currency -> minor units of succeeded charges

    @property
    def activity(self) -> float | None:
        return self.disputes / self.settled if self.settled else None

    @property
    def rate(self) -> float | None:
        return self.disputes_on_charges / self.settled if self.settled else None


class Story(BaseModel):
    """One account's risk view, beyond its numbers: months for the charts, disputes, refunds, linked accounts."""

    months: list[MonthRow]
    disputes: list[dict[str, Any]]
    refunds: list[dict[str, Any]]
    linked: list[dict[str, Any]]


# The charges of one merchant, in three branches that each filter on one column (an OR of the three made DuckDB
# read every column of the 1.8M charges of the large demo: ~300 ms; this is ~50 ms). Read once per account view.
ONE_MERCHANT_CHARGES = """
SELECT id, created, status, currency, amount FROM charges WHERE account = $account AND source_transfer_id IS NULL
UNION ALL
SELECT id, created, status, currency, amount FROM charges WHERE transfer_destination_id = $account
UNION ALL
SELECT id, created, status, currency, amount FROM charges
WHERE account IS NULL AND transfer_destination_id IS NULL AND id IN (
    SELECT source_transaction_id FROM transfers WHERE account IS NULL AND destination_id = $account)"""

MONTHS_SQL = """
WITH months AS (SELECT unnest(generate_series($since, $now, INTERVAL 1 MONTH)) AS month),
settled AS (SELECT date_trunc('month', created) AS month, count(*) AS n FROM risk_mine
            WHERE status = 'succeeded' AND created >= $since GROUP BY 1),
volume AS (SELECT month, map_from_entries(list((currency, amount) ORDER BY currency)) AS volumes FROM (
               SELECT date_trunc('month', created) AS month, currency, sum(amount) AS amount FROM risk_mine
               WHERE status = 'succeeded' AND created >= $since GROUP BY ALL) GROUP BY month),
opened AS (SELECT date_trunc('month', d.created) AS month, count(*) AS n FROM disputes d
           JOIN risk_mine m ON m.id = d.charge_id WHERE d.created >= $since GROUP BY 1),
on_charges AS (SELECT date_trunc('month', m.created) AS month, count(*) AS n FROM disputes d
               JOIN risk_mine m ON m.id = d.charge_id WHERE m.created >= $since GROUP BY 1)
SELECT m.month, coalesce(s.n, 0), coalesce(o.n, 0), coalesce(c.n, 0), v.volumes
FROM months m LEFT JOIN settled s USING (month) LEFT JOIN opened o USING (month)
LEFT JOIN on_charges c USING (month) LEFT JOIN volume v USING (month)
ORDER BY m.month"""


def _rows(db: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    result = db.execute(sql, params)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row)) for row in result.fetchall()]


def _first_of_month(now: datetime, back: int) -> datetime:
    since = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for _ in range(back):
        since = (since - timedelta(days=1)).replace(day=1)
    return since


def _months(db: duckdb.DuckDBPyConnection, now: datetime, months: int) -> list[MonthRow]:
    rows = db.execute(MONTHS_SQL, {"since": _first_of_month(now, months - 1), "now": now}).fetchall()
    return [MonthRow(month=r[0].date() if isinstance(r[0], datetime) else r[0], settled=r[1], disputes=r[2],
                     disputes_on_charges=r[3], volumes={k: int(v) for k, v in (r[4] or {}).items()}) for r in rows]


def _linked(db: duckdb.DuckDBPyConnection, account_id: str, shared_with: list[str]) -> list[dict[str, Any]]:
    """The accounts the metrics found on its bank accounts, with their status and the fingerprint they share."""
    if not shared_with:
        return []
    return _rows(db, f"""
        WITH fp AS (SELECT id, unnest(json_extract_string(raw, '$.external_accounts.data[*].fingerprint'))
                                   AS fingerprint
                    FROM connected_accounts WHERE account IS NULL AND list_contains($ids, id))
        SELECT DISTINCT other.id, a.business_name, a.email, {STATUS_SQL} AS status,
               a.requirements_disabled_reason AS disabled_reason, other.fingerprint
        FROM fp mine JOIN fp other ON other.fingerprint = mine.fingerprint AND other.id <> mine.id
        JOIN connected_accounts a ON a.id = other.id
        WHERE mine.id = $account ORDER BY status <> 'rejected', other.id""",
                 {"account": account_id, "ids": [account_id, *shared_with]})


def story(db: duckdb.DuckDBPyConnection, account_id: str, now: datetime, shared_with: list[str],
          months: int = 24, limit: int = 50) -> Story:
    """The account's last `months` calendar months (the current one included, oldest first), its latest
    disputes and refunds, and the accounts sharing its bank accounts (`shared_with`, from its metrics)."""
    mine = db.sql(ONE_MERCHANT_CHARGES, params={"account": account_id}).to_arrow_table()
    db.register("risk_mine", mine)
    try:
        return Story(
            months=_months(db, now, months),
            disputes=_rows(db, """SELECT d.created, d.id, d.status, d.reason, d.currency, d.amount, d.evidence_due_by,
                                         d.charge_id FROM disputes d JOIN risk_mine m ON m.id = d.charge_id
                                  ORDER BY d.created DESC LIMIT $limit""", {"limit": limit}),
            refunds=_rows(db, """SELECT r.created, r.id, r.status, r.reason, r.currency, r.amount, r.charge_id
                                 FROM refunds r JOIN risk_mine m ON m.id = r.charge_id
                                 ORDER BY r.created DESC LIMIT $limit""", {"limit": limit}),
            linked=_linked(db, account_id, shared_with))
    finally:
        db.unregister("risk_mine")
