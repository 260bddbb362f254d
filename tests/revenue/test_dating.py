"""The two datings (issue 20 section 3): by charge date (Stripe's margin reports) and by event date (a closed
month stays closed). Checked on the demo, whose refunds come days after their charges, against the refund
objects themselves, summed here one by one (not with the cache's SQL)."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import pytest

from core.clock import utc_now
from core.revenue import queries
from core.revenue.definitions import MEASURES
from core.revenue.view import RevenueView


@pytest.fixture(scope="module")
def both(synced_store):
    cur = synced_store.cursor()
    first = cur.execute("SELECT min(created)::DATE FROM charges").fetchone()[0]
    today = utc_now().date()
    start = max(first, today - timedelta(days=3 * 366 - 1) // 2)
    return {d: queries.facts(cur, start, today, dated=d) for d in ("charge", "event")}, start, today


def test_both_datings_have_the_same_totals_over_all_history(synced_store) -> None:
    cur = synced_store.cursor()
    first = cur.execute("SELECT min(created)::DATE FROM charges").fetchone()[0]
    today = utc_now().date()
    totals = {d: queries.totals(queries.facts(cur, first, today, dated=d)) for d in ("charge", "event")}
    assert totals["charge"] == totals["event"], "dating moves figures between days, never adds or drops them"


def _refunds_by_month(synced_store) -> tuple[dict[tuple[str, date], int], dict[tuple[str, date], int]]:
    """Per (currency, month): refunds of counted charges by the refund's month and by its charge's month."""
    cur = synced_store.cursor()
    charges = {cid: (created.date(), currency) for cid, created, currency in cur.execute(
        "SELECT id, created, currency FROM charges WHERE status = 'succeeded' AND source_transfer_id IS NULL "
        "AND (account IS NOT NULL OR transfer_destination_id IS NOT NULL OR transfer_group IS NOT NULL)").fetchall()}
    by_event: dict[tuple[str, date], int] = defaultdict(int)
    by_charge: dict[tuple[str, date], int] = defaultdict(int)
    for charge_id, created, amount in cur.execute(
            "SELECT charge_id, created, amount FROM refunds WHERE status = 'succeeded'").fetchall():
        if charge_id in charges:
            day, currency = charges[charge_id]
            by_event[(currency, created.date().replace(day=1))] += amount
            by_charge[(currency, day.replace(day=1))] += amount
    return by_event, by_charge


def test_refunds_count_on_their_own_day_when_dated_by_event(synced_store, both) -> None:
    facts, start, today = both
    by_event, by_charge = _refunds_by_month(synced_store)
    months = sorted({m for _, m in by_event if start.replace(day=1) < m < today.replace(day=1)})
    assert len(months) >= 3
    moved = 0
    for dated, expected in (("event", by_event), ("charge", by_charge)):
        for row in queries.series(facts[dated], "month", None, "usd"):
            month = row.keys["period"]
            if month in months:
                assert row.measures.refunded == expected[("usd", month)], f"{dated} {month}"
    for month in months:
        moved += abs(by_event[("usd", month)] - by_charge[("usd", month)])
    assert moved > 0, "some refunds fall in a later month than their charge: the datings differ"


def test_the_dating_is_in_the_url() -> None:
    view = RevenueView.from_query_params({"dated": "event", "period": "90d"})
    assert view.dated == "event" and view.to_query_params() == {"period": "90d", "dated": "event"}
    assert RevenueView.from_query_params({"dated": "whenever"}).dated == "charge"


def test_every_measure_is_dated_one_way_or_the_other(both) -> None:
    facts, _, _ = both
    for currency in queries.totals(facts["charge"]):
        for name in ("gmv", "charges", "application_fees", "implicit_fees", "stripe_fees"):
            charge_dated = [getattr(r.measures, name) for r in queries.series(facts["charge"], "month", None, currency)]
            event_dated = [getattr(r.measures, name) for r in queries.series(facts["event"], "month", None, currency)]
            assert charge_dated == event_dated, f"{currency} {name} happens with its object"
    assert set(MEASURES) >= {"refunded", "implicit_fees_refunded", "losses_refunds", "disputes_lost"}
