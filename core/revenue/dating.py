"""Two datings of the same figures (issue 20): by charge date, or by the date each later event happened.

* `charge` (Stripe's margin reports; the default): a charge counts on its day with everything that later
  happened to it: a closed month's figures move as its charges are refunded or disputed.
* `event` (what the books need: a closed month stays closed): refunds, transfer reversals, application fee
  refunds and disputes count on the day they happened.

The revenue cache holds both in one table: every charge and fee row is dated by charge, and *shift* rows
(`shift` true) move its later parts: minus on the object's day, plus on each event's day. So the event dating
is the sum of every row, the charge dating the sum of the rows that are not shifts, and both have exactly the
same totals. Figures that depend on refunds and reversals together (implicit fees refunded, refund losses)
are dated by their running value: each event day gets what that day changed. What no event dates (a refund
or reversal beyond the 10 Stripe embeds, a reversal of a transfer linked by group) stays on the charge's day.
"""
from __future__ import annotations

from typing import Literal

Dating = Literal["charge", "event"]
DATINGS: tuple[Dating, ...] = ("charge", "event")

# SQL CTEs inside cache.rows_sql (after `charge_rows`); `{after}` narrows the scans of later rows.
CHARGE_SHIFTS = """
refund_events AS (
    SELECT charge_id AS id, created, amount AS refund, 0 AS reversal FROM refunds
    WHERE status = 'succeeded' AND {after} AND charge_id IN (SELECT id FROM charge_rows WHERE refunded <> 0)
),
reversal_events AS (  -- reversals listed in the transfers that name their charge, in the charge's currency
    SELECT x.id, make_timestamp(x.r.created * 1000000) AS created, 0 AS refund,
           CASE WHEN x.currency = c.currency THEN x.r.amount WHEN x.currency = t.currency AND t.exchange_rate > 0
                THEN round(x.r.amount / t.exchange_rate * {minor_c} / {minor_x})::BIGINT ELSE 0 END AS reversal
    FROM (SELECT source_transaction_id AS id, currency,
                 unnest(from_json(json_extract(raw, '$.reversals.data'), '[{{"amount":"BIGINT","created":"BIGINT"}}]'))
                     AS r
          FROM transfers WHERE account IS NULL AND coalesce(amount_reversed, 0) > 0
            AND source_transaction_id IN (SELECT id FROM charge_rows)) x
    JOIN charge c ON c.id = x.id LEFT JOIN txn t ON t.id = c.balance_transaction_id
),
running AS (  -- per charge and event day: refunds and reversals so far
    SELECT id, day, sum(sum(refund)) OVER w AS refunds, sum(sum(reversal)) OVER w AS reversals
    FROM (SELECT id, created::DATE AS day, refund, reversal FROM refund_events
          UNION ALL SELECT id, created::DATE, refund, reversal FROM reversal_events)
    GROUP BY id, day WINDOW w AS (PARTITION BY id ORDER BY day)
),
stepped AS (  -- the running value of each figure, as charge_rows defines it, then what each day changed
    SELECT r.id, r.day,
           CASE WHEN c.charge_type = 'platform' THEN 0 ELSE r.refunds END AS refunded_then,
           CASE WHEN c.keeps THEN least(r.refunds - r.reversals, c.implicit) ELSE 0 END AS ifr_then,
           CASE WHEN c.charge_type = 'destination' OR c.keeps THEN greatest(0, r.refunds - r.reversals - c.implicit)
                ELSE 0 END AS lr_then
    FROM running r JOIN charge_rows c ON c.id = r.id
),
deltas AS (
    SELECT id, day, refunded_then - lag(refunded_then, 1, 0) OVER w AS refunded,
           ifr_then - lag(ifr_then, 1, 0) OVER w AS implicit_fees_refunded,
           lr_then - lag(lr_then, 1, 0) OVER w AS losses_refunds
    FROM stepped WINDOW w AS (PARTITION BY id ORDER BY day)
),
charge_shifts AS (
    SELECT 'charge' AS kind, c.id, d.day::TIMESTAMP AS created, c.currency, c.charge_type, c.merchant, c.rate,
           c.factor, true AS shift, d.refunded, d.implicit_fees_refunded, d.losses_refunds
    FROM deltas d JOIN charge_rows c ON c.id = d.id
    UNION ALL BY NAME
    SELECT 'charge' AS kind, c.id, c.created, c.currency, c.charge_type, c.merchant, c.rate, c.factor, true AS shift,
           -sum(d.refunded) AS refunded, -sum(d.implicit_fees_refunded) AS implicit_fees_refunded,
           -sum(d.losses_refunds) AS losses_refunds
    FROM deltas d JOIN charge_rows c ON c.id = d.id GROUP BY ALL
    UNION ALL BY NAME  -- a dispute's amount and fee leave the balance when it opens
    SELECT 'charge' AS kind, c.id, o.at AS created, c.currency, c.charge_type, c.merchant, c.rate, c.factor,
           true AS shift, o.sign * c.disputes_lost AS disputes_lost, o.sign * c.losses_disputes AS losses_disputes,
           o.sign * c.dispute_fees AS dispute_fees
    FROM charge_rows c, LATERAL (SELECT c.opened AS at, 1 AS sign UNION ALL SELECT c.created, -1) o
    WHERE c.opened IS NOT NULL AND (c.disputes_lost <> 0 OR c.losses_disputes <> 0 OR c.dispute_fees <> 0)
),
"""
