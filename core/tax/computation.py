"""The amounts on a connected account's 1099 for a tax year, and the transactions behind every box.

Stripe's own rules (Stripe Docs, 'Choose a calculation method', docs.stripe.com/connect/calculation-methods),
so that the preview agrees with the forms Stripe files:

* The platform picks a calculation method: payments including fees (the default), payments excluding
  fees (what reached the account's balance: Stripe and platform fees taken out), or payouts only
  (payouts to the bank, less payouts that failed or were cancelled).
* Refunds, disputes and transfer reversals are not deducted (the IRS wants gross amounts).
* Destination charges count from the charge (gross); separate charges and transfers from the transfer;
  transfers that credit the account count, debits from the account (its own transfers) do not.
* The `available_on` of the payment's balance transaction decides the year and the month, in UTC: for a
  destination charge the platform charge's balance transaction, for a transfer the `py_` payment's, for
  a direct charge or a payout its own. A charge on 31 December available in January is next year's.
* Box 1b (card not present) is everything but `card_present` and `interac_present` payments; a transfer
  with no source charge is card not present.
* A non-USD payment is converted with the rate of its day from the table finance loads (core/tax/fx.py),
  never with the balance transaction's `exchange_rate` (only there when it settled in USD, and it includes
  Stripe's FX fee). Without a rate for its day the payment stays in its currency, listed as not converted
  (the form needs attention); it still counts as a transaction. With payments excluding fees, the fees
  (in the settlement currency) are taken from the converted payment.

Everything stays integer USD cents. SQL reads typed columns only (no JSON), so a year of the large
demo (millions of balance transactions) is computed in one pass per flow.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import duckdb
from pydantic import BaseModel

from core.tax.fx import NO_RATES, Rates

Method = Literal["payments_including_fees", "payments_excluding_fees", "payouts_only"]
METHODS: dict[str, str] = {
    "payments_including_fees": "Payments including fees",
    "payments_excluding_fees": "Payments excluding fees",
    "payouts_only": "Payouts only",
}
DEFAULT_METHOD: Method = "payments_including_fees"
METHOD_SOURCE = "Stripe Docs, 'Choose a calculation method' (docs.stripe.com/connect/calculation-methods)"
CARD_PRESENT = ("card_present", "interac_present")
CONVERSION_NOTE = ("Non-USD payments are converted at the day's rate from the rates table finance loads "
                   "(CONNECT_OPS_TAX_FX_RATES); without one the form needs attention and the amount is shown unconverted.")
# Stripe Docs, 'Choose a calculation method': payouts only is offered for the 1099-NEC and 1099-MISC, not the 1099-K.
METHODS_BY_FORM: dict[str, tuple[str, ...]] = {
    "k": ("payments_including_fees", "payments_excluding_fees"),
    "nec": ("payments_including_fees", "payments_excluding_fees", "payouts_only"),
    "misc": ("payments_including_fees", "payments_excluding_fees", "payouts_only"),
}


class LogRow(BaseModel):
    """One transaction behind a form's boxes (Stripe's transaction log, with the conversion shown)."""

    account_id: str
    kind: str
    balance_transaction_id: str
    charge_id: str | None
    transfer_id: str | None
    payout_id: str | None
    available_on: datetime
    month: int
    original_amount: int | None
    original_currency: str | None
    exchange_rate: float | None
    rate_to_usd: Decimal | None  # the day's rate from finance's table (None: USD, or no rate for the day)
    settled_currency: str | None
    calculation_amount: int | None  # USD cents; None when it did not settle in USD (left out of the totals)
    card_not_present: bool
    payment_method_type: str | None
    transaction_count: int


class AccountTotals(BaseModel):
    """A form's boxes for one account and year, in USD cents."""

    account_id: str
    gross_amount: int = 0  # box 1a (1099-K) or box 1 (1099-NEC)
    card_not_present_amount: int = 0  # box 1b
    monthly_amounts: list[int] = [0] * 12  # boxes 5a-5l
    transaction_count: int = 0  # box 3
    unconverted: dict[str, int] = {}  # payments without a rate for their day, by currency (minor units)


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """[1 January, next 1 January) in UTC, as DuckDB's naive UTC timestamps."""
    return datetime(year, 1, 1), datetime(year + 1, 1, 1)


# --------------------------------------------------------------------------- the transactions, in SQL
# Each flow's rows have the same columns. The big tables are scanned once each where possible, and joins
# are written so that their hash tables hold the year's few rows, not the table's millions (semi-joins
# build on their subquery): a year of the large demo is well under a second.

_WINDOW = """
accts AS (SELECT unnest($accounts::VARCHAR[]) AS id),
window_bt AS MATERIALIZED (  -- balance transactions available in the year: the accounts', and platform charges'
    SELECT scope, id, source_id, type, reporting_category, amount, net, currency, exchange_rate, available_on, created
    FROM balance_transactions
    WHERE available_on >= $start AND available_on < $end
      AND (scope IN (SELECT id FROM accts) OR (scope = '' AND type IN ('charge', 'payment')))),
acct_bt AS (SELECT * FROM window_bt WHERE scope <> '')"""

_PAYMENT_CTES = """,
pay AS MATERIALIZED (  -- payments in the accounts' balance: direct charges, and py_ payments of platform transfers
    SELECT b.*, t.id AS transfer_id, t.source_transaction_id, t.amount AS t_amount, t.currency AS t_currency
    FROM acct_bt b LEFT JOIN (SELECT id, destination_id, destination_payment_id, source_transaction_id, amount, currency
                              FROM transfers WHERE scope = '' AND destination_id IN (SELECT id FROM accts)) t
      ON t.destination_payment_id = b.source_id AND t.destination_id = b.scope
    WHERE b.type IN ('charge', 'payment')),
platform_bt AS (SELECT * FROM window_bt WHERE scope = ''),
platform_charges AS MATERIALIZED (  -- our accounts' destination charges paid in the year; charges behind transfers
    SELECT id, transfer_id, transfer_destination_id, payment_method_type, amount, currency FROM charges
    WHERE scope = ''
      AND ((transfer_destination_id IN (SELECT id FROM accts) AND id IN (SELECT source_id FROM platform_bt))
           OR id IN (SELECT source_transaction_id FROM pay WHERE source_transaction_id IS NOT NULL))),
in_person AS (  -- the accounts' own charges made in person (box 1b leaves them out)
    SELECT scope, id, payment_method_type FROM charges
    WHERE scope <> '' AND payment_method_type IN ('card_present', 'interac_present')),
foreign_direct AS (  -- the accounts' own charges in another currency than USD (the payment's own amount)
    SELECT scope, id, amount, currency FROM charges
    WHERE scope IN (SELECT id FROM accts) AND currency <> 'usd' AND id IN (SELECT source_id FROM pay))"""

_NET_CTE = """,
net_elsewhere AS MATERIALIZED (  -- destination transfers whose py_ payment is available in another year (rare)
    SELECT id, destination_id, destination_payment_id FROM transfers
    WHERE scope = '' AND id IN (SELECT transfer_id FROM platform_charges WHERE transfer_id IS NOT NULL)
      AND id NOT IN (SELECT transfer_id FROM pay WHERE transfer_id IS NOT NULL)),
destination_net AS (  -- what a destination charge's py_ payment added to the account's balance
    SELECT transfer_id, net, currency FROM pay WHERE transfer_id IS NOT NULL
    UNION ALL
    SELECT e.id, pb.net, pb.currency FROM net_elsewhere e JOIN (
        SELECT scope, source_id, net, currency FROM balance_transactions
        WHERE type IN ('charge', 'payment') AND source_id IN (SELECT destination_payment_id FROM net_elsewhere)
    ) pb ON pb.scope = e.destination_id AND pb.source_id = e.destination_payment_id)"""

_DIRECT = """
SELECT p.scope AS account_id, 'direct charge' AS kind, p.id AS balance_transaction_id, p.source_id AS charge_id,
       NULL::VARCHAR AS transfer_id, NULL::VARCHAR AS payout_id, p.available_on,
       p.amount AS gross, p.currency AS gross_currency, p.net AS net, p.currency AS net_currency, p.exchange_rate,
       NULL::BIGINT AS original_amount, NULL::VARCHAR AS original_currency, ip.payment_method_type,
       ip.id IS NULL AS cnp, 1 AS transaction_count, p.created,
       coalesce(fd.amount, p.amount) AS pay_amount, coalesce(fd.currency, p.currency) AS pay_currency
FROM pay p LEFT JOIN in_person ip ON ip.scope = p.scope AND ip.id = p.source_id
LEFT JOIN foreign_direct fd ON fd.scope = p.scope AND fd.id = p.source_id
WHERE p.transfer_id IS NULL"""

_TRANSFERS = """
SELECT p.scope AS account_id,
       CASE WHEN c.id IS NULL THEN 'credit transfer' ELSE 'separate charge and transfer' END AS kind,
       p.id AS balance_transaction_id, c.id AS charge_id, p.transfer_id, NULL::VARCHAR AS payout_id, p.available_on,
       p.amount AS gross, p.currency AS gross_currency, p.net AS net, p.currency AS net_currency, p.exchange_rate,
       p.t_amount AS original_amount, p.t_currency AS original_currency, c.payment_method_type,
       coalesce(c.payment_method_type, '') NOT IN ('card_present', 'interac_present') AS cnp, 1 AS transaction_count,
       p.created, coalesce(p.t_amount, p.amount) AS pay_amount, coalesce(p.t_currency, p.currency) AS pay_currency
FROM pay p LEFT JOIN platform_charges c ON c.id = p.source_transaction_id
WHERE p.transfer_id IS NOT NULL
  AND c.transfer_id IS DISTINCT FROM p.transfer_id"""  # a destination charge's transfer counts from its charge

_DESTINATION = """
SELECT c.transfer_destination_id AS account_id, 'destination charge' AS kind, cb.id AS balance_transaction_id,
       c.id AS charge_id, c.transfer_id, NULL::VARCHAR AS payout_id, cb.available_on,
       cb.amount AS gross, cb.currency AS gross_currency, {net} AS net, {net_currency} AS net_currency,
       cb.exchange_rate, c.amount AS original_amount, c.currency AS original_currency, c.payment_method_type,
       coalesce(c.payment_method_type, '') NOT IN ('card_present', 'interac_present') AS cnp, 1 AS transaction_count,
       cb.created, c.amount AS pay_amount, c.currency AS pay_currency
FROM platform_bt cb JOIN platform_charges c ON c.id = cb.source_id
{net_join}
WHERE c.transfer_id IS NOT NULL AND c.transfer_destination_id IN (SELECT id FROM accts)"""

_PAYOUTS = """
SELECT b.scope AS account_id, CASE WHEN b.type = 'payout' THEN 'payout' ELSE 'payout reversal' END AS kind,
       b.id AS balance_transaction_id, NULL::VARCHAR AS charge_id, NULL::VARCHAR AS transfer_id,
       b.source_id AS payout_id, b.available_on, -b.amount AS gross, b.currency AS gross_currency,
       -b.amount AS net, b.currency AS net_currency, b.exchange_rate, -b.amount AS original_amount,
       b.currency AS original_currency, NULL::VARCHAR AS payment_method_type, TRUE AS cnp,
       CASE WHEN b.type = 'payout' THEN 1 ELSE -1 END AS transaction_count, b.created,
       -b.amount AS pay_amount, b.currency AS pay_currency
FROM acct_bt b WHERE b.type = 'payout' OR b.reporting_category = 'payout_reversal'"""


def _rows_sql(method: Method) -> str:
    """Every transaction of the accounts in `accts` whose balance transaction is available in the year,
    with `calc` (the amount the method reports, USD cents, or NULL when not settled in USD) and `cnp`."""
    if method == "payouts_only":
        ctes, union = _WINDOW, _PAYOUTS
    else:
        excluding = method == "payments_excluding_fees"
        destination = _DESTINATION.format(
            net="dn.net" if excluding else "NULL::BIGINT", net_currency="dn.currency" if excluding else "NULL::VARCHAR",
            net_join="LEFT JOIN destination_net dn ON dn.transfer_id = c.transfer_id" if excluding else "")
        ctes = _WINDOW + _PAYMENT_CTES + (_NET_CTE if excluding else "")
        union = f"{_DIRECT} UNION ALL {_TRANSFERS} UNION ALL {destination}"
    return (f"WITH {ctes},\ntx AS ({union}),\n{_RATES}\n"
            f"SELECT t.*, month(t.available_on) AS month, rp.rate AS rate_to_usd, {_calc(method)} AS calc\n"
            "FROM tx t LEFT JOIN rates rp ON t.pay_currency <> 'usd' AND rp.currency = t.pay_currency "
            "AND rp.day = CAST(t.created AS DATE)\n"
            "LEFT JOIN rates rf ON t.gross_currency <> 'usd' AND rf.currency = t.gross_currency "
            "AND rf.day = CAST(t.created AS DATE)")


_RATES = """rates AS (  -- finance's daily rates to USD (core/tax/fx.py), passed in as parameters
    SELECT unnest($rate_days::DATE[]) AS day, unnest($rate_currencies::VARCHAR[]) AS currency,
           CAST(unnest($rate_values::VARCHAR[]) AS DECIMAL(18, 10)) AS rate)"""


def _converted(amount: str, currency: str, rate: str) -> str:
    """USD cents of `amount` minor units of `currency` at `rate` USD per unit (NULL without a rate)."""
    return (f"CAST(round({amount} * {rate} * CASE WHEN list_contains($zero_decimal, {currency}) THEN 100 ELSE 1 END)"
            " AS BIGINT)")


def _calc(method: Method) -> str:
    """The amount the method reports in USD cents: the payment converted with its day's rate (as settled when
    it is USD); excluding fees, less the fees in the settlement currency, converted too."""
    payment = (f"CASE WHEN t.pay_currency = 'usd' THEN (CASE WHEN t.gross_currency = 'usd' THEN t.gross "
               f"ELSE t.pay_amount END) ELSE {_converted('t.pay_amount', 't.pay_currency', 'rp.rate')} END")
    if method != "payments_excluding_fees":
        return payment
    fees = (f"CASE WHEN t.gross_currency = 'usd' THEN t.gross - t.net "
            f"ELSE {_converted('(t.gross - t.net)', 't.gross_currency', 'rf.rate')} END")
    return f"({payment}) - ({fees})"


def _params(accounts: Sequence[str], year: int, rates: Rates) -> dict[str, Any]:
    start, end = year_bounds(year)
    return {"accounts": list(accounts), "start": start, "end": end, **rates.sql_params()}


# --------------------------------------------------------------------------- what callers use

def year_totals(cur: duckdb.DuckDBPyConnection, accounts: Sequence[str], year: int,
                method: Method = DEFAULT_METHOD, rates: Rates = NO_RATES) -> dict[str, AccountTotals]:
    """Each account's boxes for the year (only accounts with at least one transaction in it)."""
    if not accounts:
        return {}
    sql = ("SELECT account_id, month, calc IS NULL AS unconverted, "
           "CASE WHEN calc IS NULL THEN coalesce(pay_currency, '?') END AS currency, "
           "sum(coalesce(calc, pay_amount)) AS amount, sum(CASE WHEN cnp THEN calc END) AS cnp, "
           f"sum(transaction_count) AS n FROM ({_rows_sql(method)}) GROUP BY ALL")
    totals: dict[str, AccountTotals] = {}
    for account_id, month, unconverted, cur_code, total, cnp, n in cur.execute(sql, _params(accounts, year, rates)).fetchall():
        row = totals.setdefault(account_id, AccountTotals(account_id=account_id, monthly_amounts=[0] * 12,
                                                          unconverted={}))
        _add(row, int(month), bool(unconverted), cur_code, int(total or 0), int(cnp or 0), int(n or 0))
    return totals


def _settled(method: Method) -> tuple[str, str]:
    """The amount and currency columns the method reports, as the balance transaction settled them."""
    return ("net", "net_currency") if method == "payments_excluding_fees" else ("gross", "gross_currency")


def _add(row: AccountTotals, month: int, unconverted: bool, currency: str | None, amount: int, cnp: int,
         n: int) -> None:
    """Fold one (month, converted or not) group into the account's boxes; a payment without a rate still
    counts as a transaction (the count needs no conversion)."""
    row.transaction_count += n
    if unconverted:
        key = currency or "?"
        row.unconverted[key] = row.unconverted.get(key, 0) + amount
        return
    row.gross_amount += amount
    row.card_not_present_amount += cnp
    row.monthly_amounts[month - 1] += amount


def transaction_log(cur: duckdb.DuckDBPyConnection, account_id: str, year: int,
                    method: Method = DEFAULT_METHOD, rates: Rates = NO_RATES) -> list[LogRow]:
    """The transactions behind one account's form, oldest first: every box is a sum over these rows."""
    currency = _settled(method)[1]
    sql = ("SELECT r.* REPLACE (coalesce(r.original_amount, d.amount) AS original_amount, "
           "coalesce(r.original_currency, d.currency) AS original_currency, "
           "coalesce(r.payment_method_type, d.payment_method_type) AS payment_method_type) "
           f"FROM ({_rows_sql(method)}) r LEFT JOIN charges d "
           "ON r.kind = 'direct charge' AND d.scope = r.account_id AND d.id = r.charge_id "
           "ORDER BY r.available_on, r.balance_transaction_id")
    result = cur.execute(sql, _params([account_id], year, rates))
    names = [d[0] for d in result.description]
    rows = []
    for values in result.fetchall():
        r = dict(zip(names, values))
        rows.append(LogRow(
            account_id=r["account_id"], kind=r["kind"], balance_transaction_id=r["balance_transaction_id"],
            charge_id=r["charge_id"], transfer_id=r["transfer_id"], payout_id=r["payout_id"],
            available_on=r["available_on"], month=int(r["month"]), original_amount=r["original_amount"],
            original_currency=r["original_currency"], exchange_rate=r["exchange_rate"],
            rate_to_usd=r["rate_to_usd"], settled_currency=r[currency],
            calculation_amount=None if r["calc"] is None else int(r["calc"]),
            card_not_present=bool(r["cnp"]), payment_method_type=r["payment_method_type"],
            transaction_count=int(r["transaction_count"])))
    return rows


def totals_of(log: Sequence[LogRow]) -> AccountTotals:
    """The boxes summed from a transaction log (the page checks the log adds up to the form)."""
    if not log:
        return AccountTotals(account_id="", monthly_amounts=[0] * 12, unconverted={})
    row = AccountTotals(account_id=log[0].account_id, monthly_amounts=[0] * 12, unconverted={})
    for r in log:
        amount = r.calculation_amount
        if amount is None:
            _add(row, r.month, True, r.original_currency, r.original_amount or 0, 0, r.transaction_count)
            continue
        _add(row, r.month, False, None, amount, amount if r.card_not_present else 0, r.transaction_count)
    return row


def tax_years(cur: duckdb.DuckDBPyConnection) -> list[int]:
    """Years in which connected accounts have balance transactions, newest first (the page's choices)."""
    rows = cur.execute("SELECT DISTINCT year(available_on) FROM balance_transactions "
                       "WHERE scope <> '' AND available_on IS NOT NULL ORDER BY 1 DESC").fetchall()
    return [int(r[0]) for r in rows]
