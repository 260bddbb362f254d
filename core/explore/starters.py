"""Starter queries: questions analysts ask that no page answers, as SQL they can read, run and change.

Each runs on the demo mirror (tests/explore/test_starters.py runs every one; benchmarks/explore.py times
them on the large demo). Conventions they share, so their answers agree with the pages:

* Money stays in minor units of its own currency (JPY has none), one row per currency: currencies are
  never added together. Where a chart needs a comparable figure a column says `_major` (amount / 100,
  or / 1 for JPY).
* "Now" is the newest charge in the mirror, so "the last 30 days" of an old copy reads as it did then.
* A sale is a charge counted in GMV (core/revenue/definitions.py): not a connected account's `py_`
  payment, which is the same money again. Its merchant is the account a direct charge lives in, a
  destination charge's `transfer_data.destination`, or the destination of a separate charge's transfer.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chart:
    kind: str  # "bar" | "line" | "scatter"
    x: str
    y: str
    color: str | None = None


@dataclass(frozen=True)
class Starter:
    key: str  # also its shareable URL: ?query=<key>
    title: str
    question: str  # the question it answers, and how to read the answer
    sql: str
    chart: Chart | None = None


_NOW = "now_ AS (SELECT max(created) AS t FROM charges)"
_SALES = """sales AS (  -- charges counted in GMV, with the merchant each is for
    SELECT c.*, coalesce(c.account, c.transfer_destination_id, t.destination_id) AS merchant
    FROM charges c
    LEFT JOIN (SELECT source_transaction_id, any_value(destination_id) AS destination_id
               FROM transfers WHERE source_transaction_id IS NOT NULL GROUP BY 1) t
           ON t.source_transaction_id = c.id
    WHERE c.source_transfer_id IS NULL
)"""
_MAJOR = "(CASE WHEN currency IN ('jpy', 'krw', 'vnd', 'clp', 'isk', 'ugx', 'xof', 'xaf') THEN 1 ELSE 100 END)"

STARTERS: tuple[Starter, ...] = (
    Starter(
        "refunds_doubled", "Merchants whose refunds doubled this month",
        "Refunds of each merchant's sales in the last 30 days against the 30 days before, per currency "
        "(minor units). Listed when the last 30 days are at least twice the 30 before, with 3 refunds or "
        "more; `ratio` is empty when there were none before.",
        f"""WITH {_NOW},
{_SALES},
windows AS (
    SELECT s.merchant, r.currency,
           coalesce(sum(r.amount) FILTER (WHERE r.created > now_.t - INTERVAL 60 DAY
                                           AND r.created <= now_.t - INTERVAL 30 DAY), 0)::BIGINT AS previous_30_days,
           coalesce(sum(r.amount) FILTER (WHERE r.created > now_.t - INTERVAL 30 DAY), 0)::BIGINT AS last_30_days,
           count(*) FILTER (WHERE r.created > now_.t - INTERVAL 30 DAY) AS refunds_last_30_days
    FROM refunds r JOIN sales s ON s.id = r.charge_id, now_
    WHERE r.status = 'succeeded' AND r.created > now_.t - INTERVAL 60 DAY
    GROUP BY ALL
)
SELECT w.merchant, a.business_name, a.country, w.currency, w.previous_30_days, w.last_30_days,
       w.refunds_last_30_days, round(w.last_30_days / nullif(w.previous_30_days, 0), 2) AS ratio
FROM windows w LEFT JOIN connected_accounts a ON a.id = w.merchant
WHERE w.refunds_last_30_days >= 3 AND w.last_30_days >= 2 * w.previous_30_days
ORDER BY ratio DESC NULLS FIRST, w.last_30_days DESC""",
        Chart("bar", "merchant", "last_30_days", "currency")),
    Starter(
        "disputes_by_card_country", "Disputes by card country",
        "Every dispute by the country of the card that paid, with the dispute rate of that country's "
        "card sales (disputes per 100 succeeded card sales) and how many were lost or are still open.",
        f"""WITH {_SALES},
card_sales AS (
    SELECT coalesce(card_country, 'unknown') AS card_country, count(*) AS sales
    FROM sales WHERE status = 'succeeded' GROUP BY 1
)
SELECT coalesce(c.card_country, 'unknown') AS card_country, count(*) AS disputes,
       count(*) FILTER (WHERE d.status = 'lost') AS lost,
       count(*) FILTER (WHERE d.status IN ('warning_needs_response', 'needs_response',
                                           'warning_under_review', 'under_review')) AS open,
       any_value(cs.sales) AS card_sales,
       round(100.0 * count(*) / any_value(cs.sales), 3) AS dispute_rate_pct
FROM disputes d
JOIN charges c ON c.id = d.charge_id
LEFT JOIN card_sales cs ON cs.card_country = coalesce(c.card_country, 'unknown')
GROUP BY ALL
ORDER BY disputes DESC, card_country""",
        Chart("bar", "card_country", "disputes", None)),
    Starter(
        "take_rate_by_country", "Take rate by merchant country",
        "Net application fees (collected less refunded) as a share of GMV, by the merchant's country and "
        "currency, over the last 90 days. What a destination charge keeps through transfer_data[amount] "
        "is not an application fee and is not counted here (the Revenue page counts it as implicit fees).",
        f"""WITH {_NOW},
{_SALES},
gmv AS (
    SELECT merchant, currency, sum(amount) AS gmv
    FROM sales, now_ WHERE status = 'succeeded' AND created > now_.t - INTERVAL 90 DAY
    GROUP BY ALL
),
fees AS (
    SELECT account_id AS merchant, currency, sum(amount - coalesce(amount_refunded, 0)) AS fees
    FROM application_fees, now_ WHERE created > now_.t - INTERVAL 90 DAY
    GROUP BY ALL
)
SELECT a.country, g.currency, count(DISTINCT g.merchant) AS merchants, sum(g.gmv)::BIGINT AS gmv,
       coalesce(sum(f.fees), 0)::BIGINT AS net_application_fees,
       round(100.0 * coalesce(sum(f.fees), 0) / sum(g.gmv), 2) AS take_rate_pct
FROM gmv g
JOIN connected_accounts a ON a.id = g.merchant
LEFT JOIN fees f ON f.merchant = g.merchant AND f.currency = g.currency
GROUP BY ALL
ORDER BY a.country, g.currency""",
        Chart("bar", "country", "take_rate_pct", "currency")),
    Starter(
        "failing_payout_banks", "Top failing payout banks",
        "Connected accounts' payouts by the bank they were sent to (from the accounts' external "
        "accounts), the banks with failed payouts first, with the failure rate and the commonest "
        "failure code.",
        """WITH bank_accounts AS (
    SELECT unnest(json_extract(raw, '$.external_accounts.data[*]')) AS ba FROM connected_accounts
),
banks AS (
    SELECT DISTINCT ba ->> 'id' AS bank_account_id, ba ->> 'bank_name' AS bank_name, ba ->> 'country' AS bank_country
    FROM bank_accounts
)
SELECT coalesce(b.bank_name, 'unknown bank') AS bank_name, b.bank_country, count(*) AS payouts,
       count(*) FILTER (WHERE p.status = 'failed') AS failed,
       round(100.0 * count(*) FILTER (WHERE p.status = 'failed') / count(*), 2) AS failure_rate_pct,
       mode(p.failure_code) FILTER (WHERE p.status = 'failed') AS commonest_failure,
       count(DISTINCT p.account) AS accounts
FROM payouts p
LEFT JOIN banks b ON b.bank_account_id = p.destination_id
WHERE p.account IS NOT NULL
GROUP BY ALL
ORDER BY failed DESC, failure_rate_pct DESC, payouts DESC
LIMIT 25""",
        Chart("bar", "bank_name", "failed", "bank_country")),
    Starter(
        "shared_bank_fingerprints", "Accounts sharing a bank account",
        "Bank account fingerprints that more than one connected account pays out to: the same bank "
        "account behind several merchants is a classic sign of one operator running many accounts.",
        """WITH fingerprints AS (
    SELECT id, business_name, country, requirements_disabled_reason,
           unnest(json_extract_string(raw, '$.external_accounts.data[*].fingerprint')) AS fingerprint
    FROM connected_accounts
)
SELECT fingerprint, count(DISTINCT id) AS accounts,
       string_agg(DISTINCT id, ', ' ORDER BY id) AS account_ids,
       string_agg(DISTINCT business_name, ' | ') AS business_names,
       count(DISTINCT id) FILTER (WHERE requirements_disabled_reason LIKE 'rejected%') AS rejected
FROM fingerprints
WHERE fingerprint IS NOT NULL
GROUP BY fingerprint
HAVING count(DISTINCT id) > 1
ORDER BY accounts DESC, fingerprint""",
        Chart("bar", "fingerprint", "accounts", None)),
    Starter(
        "gmv_by_month", "GMV by month and currency",
        "Succeeded sales per calendar month over the last 12 months, per currency: `gmv` in minor units, "
        "`gmv_major` in the currency's major unit for the chart (currencies are never added together).",
        f"""WITH {_NOW},
{_SALES}
SELECT date_trunc('month', created) AS month, currency, count(*) AS sales, sum(amount)::BIGINT AS gmv,
       round(sum(amount) / any_value({_MAJOR}), 2) AS gmv_major
FROM sales, now_
WHERE status = 'succeeded' AND created >= date_trunc('month', now_.t) - INTERVAL 11 MONTH
GROUP BY ALL
ORDER BY month, currency""",
        Chart("line", "month", "gmv_major", "currency")),
    Starter(
        "dispute_rate_by_merchant", "Dispute rate by merchant",
        "Disputes per 100 succeeded sales of each merchant's sales in the last 180 days (by the sale's "
        "date), highest first. Card networks start monitoring around 0.75-0.9 %.",
        f"""WITH {_NOW},
{_SALES},
recent AS (SELECT * FROM sales, now_ WHERE status = 'succeeded' AND created > now_.t - INTERVAL 180 DAY)
SELECT r.merchant, a.business_name, a.country, count(*) AS sales, count(d.id) AS disputes,
       round(100.0 * count(d.id) / count(*), 3) AS dispute_rate_pct
FROM recent r
LEFT JOIN disputes d ON d.charge_id = r.id
LEFT JOIN connected_accounts a ON a.id = r.merchant
GROUP BY ALL
HAVING count(d.id) > 0
ORDER BY dispute_rate_pct DESC, disputes DESC""",
        Chart("bar", "merchant", "dispute_rate_pct", "country")),
    Starter(
        "declines_by_code", "Declines by failure code and card brand",
        "Failed charges in the last 90 days by Stripe's failure code and the card brand, with their share "
        "of all charge attempts of that brand.",
        f"""WITH {_NOW},
attempts AS (
    SELECT coalesce(card_brand, 'other') AS card_brand, status, failure_code
    FROM charges, now_ WHERE source_transfer_id IS NULL AND created > now_.t - INTERVAL 90 DAY
)
SELECT failure_code, card_brand, count(*) AS declines,
       round(100.0 * count(*) / any_value(b.attempts), 2) AS share_of_brand_attempts_pct
FROM attempts
JOIN (SELECT card_brand, count(*) AS attempts FROM attempts GROUP BY 1) b USING (card_brand)
WHERE status = 'failed'
GROUP BY ALL
ORDER BY declines DESC""",
        Chart("bar", "failure_code", "declines", "card_brand")),
    Starter(
        "risky_sales_by_merchant", "Merchants with the most high-risk sales",
        "The share of each merchant's card sales in the last 90 days that Stripe's Radar scored "
        "`elevated` or `highest` (merchants with at least 10 scored sales).",
        f"""WITH {_NOW},
{_SALES}
SELECT s.merchant, a.business_name, a.country, count(*) AS scored_sales,
       count(*) FILTER (WHERE outcome_risk_level IN ('elevated', 'highest')) AS high_risk,
       round(100.0 * count(*) FILTER (WHERE outcome_risk_level IN ('elevated', 'highest')) / count(*), 2)
           AS high_risk_pct,
       round(avg(outcome_risk_score), 1) AS avg_risk_score
FROM sales s, now_
LEFT JOIN connected_accounts a ON a.id = s.merchant
WHERE s.outcome_risk_level IS NOT NULL AND s.created > now_.t - INTERVAL 90 DAY
GROUP BY ALL
HAVING count(*) >= 10
ORDER BY high_risk_pct DESC, high_risk DESC
LIMIT 50""",
        Chart("scatter", "scored_sales", "high_risk_pct", "country")),
    Starter(
        "negative_balances", "Connected accounts with a negative balance",
        "Each connected account's balance per currency (available and pending: the sum of its balance "
        "transactions' net, minor units), where it is below zero. The platform covers those if the "
        "account cannot.",
        """SELECT b.account, a.business_name, a.country, b.currency, sum(b.net)::BIGINT AS balance,
       sum(b.net) FILTER (WHERE b.status = 'available')::BIGINT AS available,
       max(b.created) AS last_movement
FROM balance_transactions b
LEFT JOIN connected_accounts a ON a.id = b.account
WHERE b.account IS NOT NULL
GROUP BY ALL
HAVING sum(b.net) < 0
ORDER BY balance""",
        Chart("bar", "account", "balance", "currency")),
    Starter(
        "requirements_at_stake", "Sales at stake behind overdue requirements",
        "Connected accounts with requirements past due or disabled for a reason, with their sales of the "
        "last 30 days per currency: what stops if Stripe restricts them.",
        f"""WITH {_NOW},
{_SALES},
recent AS (
    SELECT merchant, currency, count(*) AS sales, sum(amount)::BIGINT AS gmv_last_30_days
    FROM sales, now_ WHERE status = 'succeeded' AND created > now_.t - INTERVAL 30 DAY
    GROUP BY ALL
)
SELECT a.id AS account, a.business_name, a.country, a.requirements_disabled_reason,
       a.requirements_past_due_count, a.requirements_currently_due_count, a.requirements_current_deadline,
       r.currency, coalesce(r.sales, 0) AS sales_last_30_days, coalesce(r.gmv_last_30_days, 0) AS gmv_last_30_days
FROM connected_accounts a
LEFT JOIN recent r ON r.merchant = a.id
WHERE a.requirements_past_due_count > 0 OR a.requirements_disabled_reason IS NOT NULL
ORDER BY a.requirements_past_due_count DESC, gmv_last_30_days DESC""",
        Chart("bar", "account", "gmv_last_30_days", "currency")),
    Starter(
        "evidence_due", "Open disputes by evidence deadline",
        "Disputes still open, the nearest evidence deadline first, with the merchant, the amount and "
        "whether the charge can still be refunded.",
        f"""WITH {_SALES}
SELECT d.id AS dispute, d.status, d.reason, d.evidence_due_by, d.amount, d.currency,
       s.merchant, a.business_name, d.charge_id, d.is_charge_refundable
FROM disputes d
LEFT JOIN sales s ON s.id = d.charge_id
LEFT JOIN connected_accounts a ON a.id = s.merchant
WHERE d.status IN ('warning_needs_response', 'needs_response', 'warning_under_review', 'under_review')
ORDER BY d.evidence_due_by NULLS LAST""",
        None),
    Starter(
        "merchants_gone_quiet", "Merchants who went quiet",
        "Merchants with sales in the 30 days before the last 30, and none since: churn, a broken "
        "integration or an account stopped by Stripe.",
        f"""WITH {_NOW},
{_SALES},
activity AS (
    SELECT merchant,
           count(*) FILTER (WHERE created > now_.t - INTERVAL 60 DAY AND created <= now_.t - INTERVAL 30 DAY)
               AS sales_previous_30_days,
           count(*) FILTER (WHERE created > now_.t - INTERVAL 30 DAY) AS sales_last_30_days,
           max(created) AS last_sale
    FROM sales, now_ WHERE status = 'succeeded'
    GROUP BY ALL
)
SELECT x.merchant, a.business_name, a.country, a.charges_enabled, a.requirements_disabled_reason,
       x.sales_previous_30_days, x.last_sale
FROM activity x LEFT JOIN connected_accounts a ON a.id = x.merchant
WHERE x.sales_previous_30_days > 0 AND x.sales_last_30_days = 0
ORDER BY x.sales_previous_30_days DESC""",
        Chart("bar", "merchant", "sales_previous_30_days", "country")),
)

BY_KEY: dict[str, Starter] = {s.key: s for s in STARTERS}
