"""Revenue's working tables, kept beside the mirror and refreshed incrementally.

What a charge contributes depends on its transfers, refunds, disputes and the platform's balance
transactions: joining those tables for every period costs seconds on a large mirror. So the joins run
once per object, in an in-memory DuckDB database attached to the mirror's instance (`revenue_cache`,
compressed, gone with the process):

* `facts`: one row per GMV charge, application fee, account debit and negative-balance cover, with its
  day, currency, charge type, merchant, settlement rate, measures and, for a fee, its own reconciliation
  with the platform's ledger (fee and fee-refund balance transactions, back in the fee's currency);
* `daily`: those rows summed per day, merchant, currency, charge type and convertibility (measures, the
  same converted at each row's rate, the rates' range). Period queries (queries.py) read only this.

Refresh: the mirror stamps every row it writes with `synced_at`. The first use builds both tables; later
uses recompute only the objects that changed, or whose related rows changed, since the last refresh
(minus a margin, for writers whose transactions commit out of order), then re-sum the days they touch;
a count that disagrees with the mirror's (an object left it) rebuilds from scratch. A read-only caller
(the CLI) builds just the window it asks for.
"""
from __future__ import annotations

import logging
import threading
from datetime import date, datetime, timedelta

import duckdb

from core.mirror.store import Store

from core.revenue import dating
from core.revenue.definitions import (ACCOUNT_DEBIT, CAPTURED_SQL, CHARGE_TYPE_SQL, FLOW_SQL, GMV_CHARGES, MEASURES,
                                      NEGATIVE_BALANCE_COVER_TYPES, PLATFORM_OWN, REFUNDED_SQL, minor_units_sql)

CACHE = "revenue_cache"
FACTS = f"{CACHE}.facts"
DAILY = f"{CACHE}.daily"
WATCHED = ("charges", "transfers", "disputes", "balance_transactions", "application_fees")
MARGIN = timedelta(minutes=2)  # rows stamped this long before the last refresh's newest are looked at again
CHECKPOINT_ROWS = 20_000  # a refresh that rewrote more rows than this compresses the cache again
BUILD_STEP = timedelta(days=56)  # a first build's step: ~140k charges at the large demo
# Each fee's reconciliation with the platform's ledger, additive so it sums like the measures.
RECONCILIATION = ("fee_count", "ledger", "difference", "rounding", "missing_entries", "unlisted_refunds")
SUMMED = (*MEASURES, *RECONCILIATION)
log = logging.getLogger(__name__)
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()

_MINOR = minor_units_sql
_P = "$platform"
_COVER_TYPES = "(" + ", ".join(f"'{t}'" for t in NEGATIVE_BALANCE_COVER_TYPES) + ")"


def _factor(rate_currency: str, rate: str, currency: str = "c.currency") -> str:
    """SQL: minor units of `currency` -> minor units of the platform currency, from a balance transaction
    settled in `rate_currency` at `rate` (NULL when there is no such rate)."""
    return (f"CASE WHEN {currency} = {_P} THEN 1.0 WHEN {rate_currency} = {_P} AND {rate} IS NOT NULL "
            f"THEN {rate} * {_MINOR(_P)} / {_MINOR(currency)} END")


def back_sql(amount: str, txn_currency: str, rate: str, currency: str = "c.currency") -> str:
    """SQL: an amount of a balance transaction (its settlement currency) in the charge's currency, whole minor
    units (rounded once per transaction, so every sum of them is exact)."""
    return (f"CASE WHEN {txn_currency} = {currency} THEN {amount} WHEN {rate} > 0 "
            f"THEN round({amount} / {rate} * {_MINOR(currency)} / {_MINOR(txn_currency)})::BIGINT ELSE 0 END")


_DISPUTE_TXNS = "'[{\"fee\":\"BIGINT\",\"currency\":\"VARCHAR\",\"exchange_rate\":\"DOUBLE\"}]'"


def _in_charge_currency(amount: str) -> str:
    """SQL: a linked transfer's amount (`l.currency`) in its charge's currency (`c.currency`): as is, or back
    from the currency the charge settled in (`t`, the charge's balance transaction) at that settlement's rate.
    NULL when neither (counted in `unconverted_transfers`, never dropped silently)."""
    return (f"CASE WHEN l.currency = c.currency THEN {amount} WHEN l.currency = t.currency AND t.exchange_rate > 0 "
            f"THEN round({amount} / t.exchange_rate * {_MINOR('c.currency')} / {_MINOR('l.currency')})::BIGINT END")


def rows_sql(charges_where: str, fees_where: str, covers_where: str, same_time: str = "TRUE",
             after: str = "TRUE") -> str:
    """One row per counted object among the charges, fees and platform balance transactions the three
    conditions pick. Related rows are found by id; `same_time` and `after` may narrow their scans first
    (rows made with the object, in the same second, or after it). Each big table is read once, for the
    few columns needed (never `raw`, but for the disputes and refunded fees picked)."""
    back_fee = back_sql("e.amount", "e.currency", "e.exchange_rate", "f.currency")
    return f"""
WITH charge AS (
    SELECT id, scope, account, created, currency, amount, {CAPTURED_SQL} AS captured_amount,
           {REFUNDED_SQL} AS refunded, balance_transaction_id, transfer_destination_id, transfer_group,
           on_behalf_of_id, {CHARGE_TYPE_SQL} AS row_type
    FROM charges WHERE {GMV_CHARGES} AND {charges_where}
),
debit AS (  -- py_ payments in the platform's own scope: a connected account sent money (account debit)
    SELECT id, created, currency, amount, coalesce(amount_refunded, 0) AS reversed, balance_transaction_id
    FROM charges WHERE account IS NULL AND status = 'succeeded' AND source_transfer_id IS NOT NULL AND {charges_where}
),
fee AS (
    SELECT id, created, currency, amount, coalesce(amount_refunded, 0) AS refunded, account_id, charge_id,
           originating_transaction_id, balance_transaction_id
    FROM application_fees WHERE {fees_where}
),
direct_fee AS (  -- a direct charge settles in its account; its application fee tells the rate to the platform
    SELECT charge_id, balance_transaction_id FROM application_fees
    WHERE originating_transaction_id IS NULL AND {same_time}
      AND charge_id IN (SELECT id FROM charge WHERE row_type = 'direct')
),
txn AS (  -- the platform's balance transactions of all of those (one read of the big table)
    SELECT id, currency, fee, amount, exchange_rate FROM balance_transactions
    WHERE account IS NULL AND {same_time} AND id IN (
        SELECT balance_transaction_id FROM charge WHERE row_type <> 'direct' UNION ALL
        SELECT balance_transaction_id FROM direct_fee UNION ALL SELECT balance_transaction_id FROM fee UNION ALL
        SELECT balance_transaction_id FROM debit)
),
platform_paid AS (  -- Stripe's fees the platform paid for a direct charge (controller.fees.payer = application)
    SELECT source_id AS id, currency, amount, exchange_rate FROM balance_transactions
    WHERE account IS NULL AND type = 'stripe_fee' AND {same_time}
      AND source_id IN (SELECT id FROM charge WHERE row_type = 'direct')
    UNION ALL BY NAME  -- and the dispute fees of its disputes (the `dispute` flag tells them apart)
    SELECT d.charge_id AS id, b.currency, b.amount, b.exchange_rate, true AS dispute
    FROM (SELECT source_id, currency, amount, exchange_rate FROM balance_transactions
          WHERE account IS NULL AND type = 'stripe_fee' AND {after}) b JOIN disputes d ON d.id = b.source_id
    WHERE d.charge_id IN (SELECT id FROM charge WHERE row_type = 'direct')
),
by_source AS (  -- transfers that name their charge (source_transaction): destination and separate charges
    SELECT source_transaction_id AS id, currency, amount, coalesce(amount_reversed, 0) AS reversed, destination_id,
           false AS allocated
    FROM transfers WHERE account IS NULL AND {after} AND source_transaction_id IN (SELECT id FROM charge)
),
group_transfer AS (  -- transfers linked to their charges only by transfer_group (Stripe's own example)
    SELECT transfer_group, currency, amount, coalesce(amount_reversed, 0) AS reversed, destination_id
    FROM transfers WHERE account IS NULL AND source_transaction_id IS NULL AND transfer_group IN (
        SELECT transfer_group FROM charge WHERE account IS NULL AND transfer_group IS NOT NULL)
),
group_charge AS (  -- every platform charge of those groups (in the period or not): the allocation's weights
    SELECT id, transfer_group, {CAPTURED_SQL} AS weight, count(*) OVER g AS charges,
           sum({CAPTURED_SQL}) OVER (g ORDER BY id ROWS UNBOUNDED PRECEDING) AS upto, sum({CAPTURED_SQL}) OVER g AS whole
    FROM charges WHERE account IS NULL AND {GMV_CHARGES} AND transfer_group IN (SELECT transfer_group FROM group_transfer)
    WINDOW g AS (PARTITION BY transfer_group)
),
by_group AS (  -- each group transfer shared over the group's charges by captured amount; shares sum exactly
    SELECT g.id, t.currency, t.destination_id,
           t.amount * g.upto // g.whole - t.amount * (g.upto - g.weight) // g.whole AS amount,
           t.reversed * g.upto // g.whole - t.reversed * (g.upto - g.weight) // g.whole AS reversed,
           g.charges > 1 AND (SELECT count(*) FROM group_transfer x WHERE x.transfer_group = t.transfer_group) > 1
               AS allocated
    FROM group_transfer t JOIN group_charge g USING (transfer_group)
    WHERE g.whole > 0 AND g.id IN (SELECT id FROM charge)
),
moved AS (  -- per charge: transfers and their reversals, in the charge's currency
    SELECT l.id, sum({_in_charge_currency("l.amount")}) AS transferred, sum({_in_charge_currency("l.reversed")}) AS reversed,
           arg_max(l.destination_id, l.amount) AS destination, bool_or(l.allocated) AS allocated,
           count(*) FILTER (WHERE {_in_charge_currency("l.amount")} IS NULL) AS unconverted
    FROM (FROM by_source UNION ALL BY NAME FROM by_group) l
    JOIN charge c ON c.id = l.id LEFT JOIN txn t ON t.id = c.balance_transaction_id
    GROUP BY l.id
),
dispute AS (  -- its balance transactions (the withdrawal carries the fee) come embedded in the dispute
    SELECT charge_id, scope, currency, min(created) AS opened, sum(amount) FILTER (WHERE status = 'lost') AS lost,
           sum(list_sum(list_transform(from_json(json_extract(raw, '$.balance_transactions'), {_DISPUTE_TXNS}),
               lambda t: {back_sql("t.fee", "t.currency", "t.exchange_rate", "currency")}))) AS fee
    FROM disputes WHERE {after} AND charge_id IN (SELECT id FROM charge) GROUP BY ALL
),
priced AS (
    SELECT c.*, coalesce(c.transfer_destination_id, c.account, m.destination) AS merchant,
           coalesce(m.transferred, 0) AS transferred, coalesce(m.reversed, 0) AS reversed_back,
           coalesce(m.allocated, false) AS allocated, coalesce(m.unconverted, 0) AS unconverted,
           {FLOW_SQL} AS charge_type,
           t.exchange_rate AS rate,
           CASE WHEN c.row_type = 'direct'
                THEN coalesce((SELECT sum({back_sql("-p.amount", "p.currency", "p.exchange_rate")}) FROM platform_paid p
                               WHERE p.id = c.id AND p.dispute IS NULL), 0)
                ELSE coalesce({back_sql("t.fee", "t.currency", "t.exchange_rate")}, 0) END AS stripe_fee,
           {_factor("t.currency", "t.exchange_rate")} AS factor,
           CASE WHEN c.row_type = 'direct'
                THEN coalesce((SELECT sum({back_sql("-p.amount", "p.currency", "p.exchange_rate")}) FROM platform_paid p
                               WHERE p.id = c.id AND p.dispute), 0) ELSE 0 END AS platform_dispute_fee
    FROM charge c
    LEFT JOIN moved m ON m.id = c.id
    LEFT JOIN direct_fee f ON f.charge_id = c.id AND c.row_type = 'direct'
    LEFT JOIN txn t ON t.id = CASE WHEN c.row_type = 'direct' THEN f.balance_transaction_id
                                   ELSE c.balance_transaction_id END
),
shaped AS (  -- what each flow kept and lost (definitions.py: FLOWS)
    SELECT c.*, c.charge_type IN ('destination', 'separate') AND c.transferred > 0 AS keeps,
           CASE WHEN keeps THEN c.captured_amount - c.transferred ELSE 0 END AS implicit,
           c.refunded - c.reversed_back AS refund_cost
    FROM priced c
),
charge_rows AS (
    SELECT 'charge' AS kind, c.id, c.created, c.currency, c.charge_type, c.merchant, c.rate, c.factor,
           CASE WHEN c.charge_type = '{PLATFORM_OWN}' THEN 0 ELSE c.captured_amount END AS gmv,
           CASE WHEN c.charge_type = '{PLATFORM_OWN}' OR c.captured_amount = 0 THEN 0 ELSE 1 END AS charges,
           CASE WHEN c.charge_type = '{PLATFORM_OWN}' THEN 0 ELSE c.refunded END AS refunded,
           CASE WHEN c.charge_type = '{PLATFORM_OWN}' THEN 0 ELSE coalesce(d.lost, 0) END AS disputes_lost,
           c.implicit AS implicit_fees,
           CASE WHEN c.keeps THEN least(c.refund_cost, c.implicit) ELSE 0 END AS implicit_fees_refunded,
           CASE WHEN c.charge_type = 'destination' OR c.keeps THEN greatest(0, c.refund_cost - c.implicit)
                ELSE 0 END AS losses_refunds,
           CASE WHEN c.charge_type IN ('destination', 'separate') THEN coalesce(d.lost, 0) ELSE 0 END AS losses_disputes,
           CASE WHEN c.charge_type IN ('destination', 'separate') THEN coalesce(d.fee, 0)
                ELSE c.platform_dispute_fee END AS dispute_fees,  -- direct: what the platform paid (fee payer)
           CASE WHEN c.charge_type = '{PLATFORM_OWN}' THEN 0 ELSE c.stripe_fee END AS stripe_fees,
           CASE WHEN c.charge_type = 'separate' AND c.transferred = 0 AND NOT c.keeps
                THEN c.captured_amount - c.refunded ELSE 0 END AS awaiting_transfer,
           CASE WHEN c.charge_type = '{PLATFORM_OWN}' THEN c.captured_amount ELSE 0 END AS platform_own_sales,
           CASE WHEN c.allocated THEN 1 ELSE 0 END AS charges_allocated, c.unconverted AS unconverted_transfers,
           c.keeps, c.implicit, d.opened
    FROM shaped c
    LEFT JOIN dispute d ON d.charge_id = c.id AND d.scope = c.scope AND d.currency = c.currency
),
{{SHIFTS}}fee_refund AS (  -- each refunded fee's refunds, and their balance transactions
    SELECT r.fee, b.currency, b.amount, b.exchange_rate
    FROM (SELECT id AS fee, unnest(json_extract_string(raw, '$.refunds.data[*].id')) AS refund FROM application_fees
          WHERE coalesce(amount_refunded, 0) > 0 AND id IN (SELECT id FROM fee WHERE refunded > 0)) r
    JOIN (SELECT source_id, currency, amount, exchange_rate FROM balance_transactions
          WHERE account IS NULL AND type = 'application_fee_refund' AND {after}) b ON b.source_id = r.refund
),
more_refunds AS (
    SELECT id FROM application_fees WHERE coalesce(amount_refunded, 0) > 0
      AND id IN (SELECT id FROM fee WHERE refunded > 0)
      AND coalesce(json_extract(raw, '$.refunds.has_more')::BOOLEAN, false)
),
fee_ledger AS (  -- the fee's own balance transaction and its refunds', back in the fee's currency
    SELECT f.id, count(e.amount) FILTER (WHERE e.kind = 'fee') AS entries, coalesce(sum({back_fee}), 0) AS ledger,
           count(e.amount) FILTER (WHERE e.currency <> f.currency) AS converted
    FROM fee f
    LEFT JOIN (SELECT 'fee' AS kind, f.id AS fee, t.currency, t.amount, t.exchange_rate
               FROM fee f JOIN txn t ON t.id = f.balance_transaction_id
               UNION ALL SELECT 'refund', fee, currency, amount, exchange_rate FROM fee_refund) e ON e.fee = f.id
    GROUP BY f.id
),
fee_rows AS (
    SELECT 'fee' AS kind, f.id, f.created, f.currency,
           CASE WHEN f.originating_transaction_id IS NOT NULL OR starts_with(f.charge_id, 'py_')
                THEN 'destination' ELSE 'direct' END AS charge_type,
           f.account_id AS merchant, t.exchange_rate AS rate, {_factor("t.currency", "t.exchange_rate", "f.currency")}
               AS factor,
           f.amount AS application_fees, f.refunded AS application_fees_refunded,
           1 AS fee_count, l.ledger, l.ledger - (f.amount - f.refunded) AS gap,
           CASE WHEN abs(gap) > l.converted THEN gap ELSE 0 END AS difference,
           CASE WHEN abs(gap) <= l.converted THEN gap ELSE 0 END AS rounding,
           CASE WHEN l.entries = 0 THEN 1 ELSE 0 END AS missing_entries,
           CASE WHEN gap <> 0 AND f.id IN (SELECT id FROM more_refunds) THEN 1 ELSE 0 END AS unlisted_refunds
    FROM fee f LEFT JOIN txn t ON t.id = f.balance_transaction_id JOIN fee_ledger l ON l.id = f.id
),
fee_shifts AS (  -- dated by event: each listed fee refund on its day, taken back from the fee's day
    SELECT 'fee' AS kind, f.id, r.created, f.currency, f.charge_type, f.merchant, f.rate, f.factor, true AS shift,
           r.amount AS application_fees_refunded
    FROM fee_rows f JOIN (
        SELECT id, make_timestamp(x.created * 1000000) AS created, x.amount FROM (
            SELECT id, unnest(from_json(json_extract(raw, '$.refunds.data'), '[{{"amount":"BIGINT","created":"BIGINT"}}]'))
                AS x
            FROM application_fees WHERE coalesce(amount_refunded, 0) > 0 AND id IN (SELECT id FROM fee WHERE refunded > 0))
    ) r USING (id)
    UNION ALL
    SELECT 'fee', f.id, f.created, f.currency, f.charge_type, f.merchant, f.rate, f.factor, true,
           -sum(x.amount) FROM fee_rows f JOIN (
        SELECT id, unnest(from_json(json_extract(raw, '$.refunds.data'), '[{{"amount":"BIGINT"}}]')).amount AS amount
        FROM application_fees WHERE coalesce(amount_refunded, 0) > 0 AND id IN (SELECT id FROM fee WHERE refunded > 0)
    ) x USING (id) GROUP BY ALL
),
debit_rows AS (
    SELECT 'debit' AS kind, c.id, c.created, c.currency, '{ACCOUNT_DEBIT}' AS charge_type, NULL AS merchant,
           t.exchange_rate AS rate, {_factor("t.currency", "t.exchange_rate")} AS factor,
           c.amount AS account_debits, c.reversed AS account_debits_reversed
    FROM debit c LEFT JOIN txn t ON t.id = c.balance_transaction_id
),
cover_rows AS (  -- Stripe took a connected account's negative balance from the platform's (or gave it back)
    SELECT 'cover' AS kind, id, created, currency, NULL AS charge_type, NULL AS merchant, NULL::DOUBLE AS rate,
           CASE WHEN currency = {_P} THEN 1.0 END AS factor, -amount AS negative_balances_covered
    FROM balance_transactions
    WHERE account IS NULL AND type IN {_COVER_TYPES} AND {covers_where}
)
SELECT hash(kind || ':' || id) AS key, kind, created::DATE AS day, currency, charge_type, merchant, rate, factor,
       coalesce(shift, false) AS shift, {", ".join(f"coalesce({m}, 0)::BIGINT AS {m}" for m in SUMMED)}
FROM (FROM charge_rows UNION ALL BY NAME FROM fee_rows UNION ALL BY NAME FROM debit_rows
      UNION ALL BY NAME FROM cover_rows UNION ALL BY NAME FROM charge_shifts UNION ALL BY NAME FROM fee_shifts)
""".replace("{SHIFTS}", dating.CHARGE_SHIFTS.format(after=after, minor_c=_MINOR("c.currency"), minor_x=_MINOR("x.currency")))


# A window's related rows: its objects' own balance transactions are made with them (same second); transfers,
# refunds and disputes come after them.
WINDOW = rows_sql(*["created >= $since AND created < $end"] * 4, after="created >= $since")
CHANGED = rows_sql(f"id IN (SELECT id FROM {CACHE}.changed_charges)", f"id IN (SELECT id FROM {CACHE}.changed_fees)",
                   f"id IN (SELECT id FROM {CACHE}.changed_covers)")
# The day sums every period query reads: per day, merchant, currency, charge type and convertibility.
DAILY_SELECT = f"""
SELECT day, merchant, currency, charge_type, factor IS NOT NULL AS converted, shift,
       {", ".join(f"sum({m})::BIGINT AS {m}" for m in SUMMED)},
       {", ".join(f"sum({m} * factor) AS {m}_p" for m in MEASURES)},
       min(rate) FILTER (WHERE currency <> {_P}) AS min_rate, max(rate) FILTER (WHERE currency <> {_P}) AS max_rate,
       count(rate) FILTER (WHERE currency <> {_P}) AS rates
FROM {FACTS}"""

# What changed since a mark ($since): the objects themselves, and the charges and fees whose related rows did.
CHANGED_SQL = {
    "changed_charges": """
        SELECT id FROM charges WHERE synced_at >= $since
        UNION SELECT source_transaction_id FROM transfers WHERE synced_at >= $since AND source_transaction_id IS NOT NULL
        UNION SELECT charge_id FROM disputes WHERE synced_at >= $since
        UNION SELECT charge_id FROM application_fees WHERE synced_at >= $since
        UNION SELECT source_id FROM balance_transactions WHERE synced_at >= $since AND account IS NULL
              AND type IN ('charge', 'stripe_fee')
        UNION SELECT d.charge_id FROM balance_transactions b JOIN disputes d ON d.id = b.source_id
              WHERE b.synced_at >= $since AND b.account IS NULL AND b.type = 'stripe_fee'
        UNION SELECT c.id FROM charges c JOIN transfers t ON t.transfer_group = c.transfer_group
              WHERE t.synced_at >= $since AND t.source_transaction_id IS NULL AND c.account IS NULL
        UNION SELECT o.id FROM charges c JOIN charges o ON o.transfer_group = c.transfer_group AND o.account IS NULL
              WHERE c.synced_at >= $since AND c.account IS NULL  -- a group's new charge changes its shares
        UNION SELECT f.charge_id FROM application_fees f JOIN balance_transactions b ON b.id = f.balance_transaction_id
              WHERE b.synced_at >= $since AND b.account IS NULL AND b.type = 'application_fee'""",
    "changed_fees": """
        SELECT id FROM application_fees WHERE synced_at >= $since
        UNION SELECT source_id FROM balance_transactions WHERE synced_at >= $since AND account IS NULL
              AND type = 'application_fee'
        UNION SELECT id FROM application_fees WHERE coalesce(amount_refunded, 0) > 0
              AND list_has_any(json_extract_string(raw, '$.refunds.data[*].id'),
                               (SELECT coalesce(list(source_id), []) FROM balance_transactions WHERE synced_at >= $since
                                AND account IS NULL AND type = 'application_fee_refund'))""",
    "changed_covers": f"""
        SELECT id FROM balance_transactions WHERE synced_at >= $since AND account IS NULL AND type IN {_COVER_TYPES}""",
}
_CHANGED_KEYS = f"""
    SELECT hash('charge:' || id) FROM {CACHE}.changed_charges UNION ALL SELECT hash('debit:' || id) FROM {CACHE}.changed_charges
    UNION ALL SELECT hash('fee:' || id) FROM {CACHE}.changed_fees
    UNION ALL SELECT hash('cover:' || id) FROM {CACHE}.changed_covers"""
_TOUCHED = f"SELECT DISTINCT day, merchant, currency FROM {FACTS} WHERE key IN ({_CHANGED_KEYS})"
_SAME_DAY = "d.day = t.day AND d.merchant IS NOT DISTINCT FROM t.merchant AND d.currency = t.currency"
COUNTS_SQL = f"""
SELECT (SELECT count(*) FROM {FACTS} WHERE kind = 'charge' AND NOT shift) = (SELECT count(*) FROM charges WHERE {GMV_CHARGES})
   AND (SELECT count(*) FROM {FACTS} WHERE kind = 'fee' AND NOT shift) = (SELECT count(*) FROM application_fees)"""


def _lock(db: duckdb.DuckDBPyConnection) -> threading.Lock:
    """One refresh at a time per mirror (two sessions' first renders would otherwise both write)."""
    row = db.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    path = str(row[0]) if row and row[0] else f"memory:{id(db)}"
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(path, threading.Lock())


def _attach(db: duckdb.DuckDBPyConnection) -> None:
    attached = db.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = ?", [CACHE]).fetchone()
    if not attached or not attached[0]:
        db.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {CACHE} (COMPRESS)")
    db.execute(f"CREATE TABLE IF NOT EXISTS {CACHE}.marks (name VARCHAR PRIMARY KEY, mark TIMESTAMP, n BIGINT)")


Marks = dict[str, tuple[datetime, int]]


def _marks(db: duckdb.DuckDBPyConnection) -> Marks:
    """The newest `synced_at` and the row count of each table revenue reads: every write moves one of them
    (a deleted object only the count)."""
    row = db.execute("SELECT " + ", ".join(f"(SELECT [epoch_us(max(synced_at)), count(*)] FROM {t})"
                                           for t in WATCHED)).fetchone() or ()
    return {t: (datetime.min if v[0] is None else _from_us(v[0]), int(v[1])) for t, v in zip(WATCHED, row)}


def _from_us(micros: int) -> datetime:
    return datetime(1970, 1, 1) + timedelta(microseconds=int(micros))


def _saved(db: duckdb.DuckDBPyConnection) -> Marks:
    return {name: (mark, int(n)) for name, mark, n in db.execute(f"SELECT name, mark, n FROM {CACHE}.marks").fetchall()}


def _save(db: duckdb.DuckDBPyConnection, marks: Marks, platform: str) -> None:
    db.execute(f"DELETE FROM {CACHE}.marks")
    db.executemany(f"INSERT INTO {CACHE}.marks VALUES (?, ?, ?)",
                   [(name, mark, n) for name, (mark, n) in {**marks, f"full:{platform}": (datetime.min, 0)}.items()])


def _build(db: duckdb.DuckDBPyConnection, platform: str, since: datetime | None = None,
           end: datetime | None = None) -> None:
    """Both tables from scratch (all history, or [since, end)), a few weeks at a time: each step's joins stay
    small (a large mirror's all at once peaks at gigabytes) and rows arrive in day order, so a period
    reads only its row groups. Built beside the old ones and swapped in at once, then compressed."""
    first, last = _span(db) if since is None or end is None else (since, end)
    db.execute(f"CREATE OR REPLACE TABLE {FACTS}_next AS SELECT * FROM ({WINDOW}) LIMIT 0",
               {"platform": platform, "since": first, "end": first})
    summed = DAILY_SELECT.replace(FACTS, f"{FACTS}_next")
    db.execute(f"CREATE OR REPLACE TABLE {DAILY}_next AS {summed} WHERE false GROUP BY ALL", {"platform": platform})
    step = first
    while step < last:
        stop = min(last, step + BUILD_STEP)
        db.execute(f"INSERT INTO {FACTS}_next SELECT * FROM ({WINDOW}) ORDER BY day",
                   {"platform": platform, "since": step, "end": stop})
        db.execute(f"INSERT INTO {DAILY}_next {summed} WHERE day >= $first AND day < $stop GROUP BY ALL ORDER BY day",
                   {"platform": platform, "first": step.date(), "stop": stop.date()})
        step = stop
    db.execute("BEGIN")
    for table in (FACTS, DAILY):
        db.execute(f"DROP TABLE IF EXISTS {table}")
        db.execute(f"ALTER TABLE {table}_next RENAME TO {table.split('.')[1]}")
    db.execute("COMMIT")
    db.execute(f"CHECKPOINT {CACHE}")


def _span(db: duckdb.DuckDBPyConnection) -> tuple[datetime, datetime]:
    """Whole UTC days from the oldest to the newest object revenue counts."""
    row = db.execute("SELECT least((SELECT min(created) FROM charges), (SELECT min(created) FROM application_fees),"
                     " (SELECT min(created) FROM balance_transactions WHERE account IS NULL)),"
                     " greatest((SELECT max(created) FROM charges), (SELECT max(created) FROM application_fees),"
                     " (SELECT max(created) FROM balance_transactions WHERE account IS NULL))").fetchone()
    if not row or row[0] is None:
        return datetime(1970, 1, 1), datetime(1970, 1, 1)
    return datetime.combine(row[0].date(), datetime.min.time()), datetime.combine(row[1].date(), datetime.min.time()) + timedelta(days=1)


def _refresh(db: duckdb.DuckDBPyConnection, since: datetime, platform: str) -> int:
    """Recompute the objects touched since `since`; returns how many rows that was."""
    for name, sql in CHANGED_SQL.items():
        db.execute(f"CREATE OR REPLACE TABLE {CACHE}.{name} AS SELECT DISTINCT id FROM ({sql}) WHERE id IS NOT NULL",
                   {"since": since})
    return apply_changed(db, platform)


def apply_changed(db: duckdb.DuckDBPyConnection, platform: str) -> int:
    """Replace the rows of the objects in the changed_* tables and re-sum the days they were and are on,
    in one transaction. Returns how many rows that was."""
    db.execute("BEGIN")
    try:
        db.execute(f"CREATE OR REPLACE TABLE {CACHE}.touched AS {_TOUCHED}")
        db.execute(f"DELETE FROM {FACTS} WHERE key IN ({_CHANGED_KEYS})")
        db.execute(f"INSERT INTO {FACTS} {CHANGED}", {"platform": platform})
        db.execute(f"INSERT INTO {CACHE}.touched {_TOUCHED}")
        db.execute(f"DELETE FROM {DAILY} d USING {CACHE}.touched t WHERE {_SAME_DAY}")
        db.execute(f"INSERT INTO {DAILY} {DAILY_SELECT} f WHERE EXISTS (SELECT 1 FROM {CACHE}.touched t "
                   f"WHERE {_SAME_DAY.replace('d.', 'f.')}) GROUP BY ALL", {"platform": platform})
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    changed = db.execute(f"SELECT count(*) FROM ({_CHANGED_KEYS})").fetchone()
    return int(changed[0]) if changed else 0


def ensure(db: duckdb.DuckDBPyConnection, platform: str) -> None:
    """The cache up to date with the mirror `db` reads: built on first use, then refreshed."""
    with _lock(db):
        _attach(db)
        marks, saved = _marks(db), _saved(db)
        if f"full:{platform}" not in saved:
            _build(db, platform)
        elif any(marks[t] != saved.get(t) for t in WATCHED):
            oldest = min(saved.get(t, (datetime.min, 0))[0] for t in WATCHED)
            changed = _refresh(db, max(oldest, datetime.min + MARGIN) - MARGIN, platform)
            if not db.execute(COUNTS_SQL).fetchone()[0]:  # an object left the mirror: start again
                _build(db, platform)
            elif changed > CHECKPOINT_ROWS:
                db.execute(f"CHECKPOINT {CACHE}")
        else:
            return
        _save(db, marks, platform)


def ensure_window(db: duckdb.DuckDBPyConnection, platform: str, since: datetime, end: datetime) -> None:
    """Only [since, end): for a one-off reader (the CLI) that will not ask again."""
    with _lock(db):
        _attach(db)
        _build(db, platform, since, end)
        db.execute(f"DELETE FROM {CACHE}.marks")


def day_bounds(since: datetime, end: datetime) -> tuple[date, date]:
    """The cache's days for the half-open timestamps [since, end) (whole UTC days)."""
    return since.date(), (end - timedelta(microseconds=1)).date()


def refresh_after_sync(store: Store) -> None:
    """After each sync in the app: bring the cache up to date now, so no Revenue visitor waits for the
    first build (10-19 s on the large demo) or a refresh. Never raises: the sync itself succeeded."""
    from core.revenue.queries import platform_currency

    try:
        db = store.cursor()
        ensure(db, platform_currency(db))
    except Exception:  # a bug here must not fail a good sync; the page builds the cache itself then
        log.exception("revenue cache refresh after sync failed")
