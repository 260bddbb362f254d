"""The page's totals are the sum of its breakdowns: every cut, every grain, every currency, to the minor unit
(and, converted, to within one minor unit per row summed: each row is rounded once)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from core.clock import utc_now
from core.revenue import queries
from core.revenue.definitions import MEASURES, Measures
from core.revenue.queries import Facts, Row


@pytest.fixture(scope="module")
def demo_facts(synced_store) -> Facts:
    """The small demo's last 12 months (its history ends yesterday), and the 12 before for the changes."""
    yesterday = utc_now().date() - timedelta(days=1)
    return queries.facts(synced_store.cursor(), yesterday - timedelta(days=364), yesterday)


def _sum(rows: list[Row], currency: str) -> Measures:
    return sum((r.measures for r in rows), Measures(currency=currency))


def _cuts(facts: Facts, currency: str | None) -> dict[str, list[Row]]:
    cuts = {f"by {cut}": queries.breakdown(facts, cut, currency) for cut in queries.CUTS}
    for grain in queries.GRAINS:
        cuts[f"per {grain}"] = queries.series(facts, grain, None, currency)
        for split in ("charge_type", "country", "account_type"):
            cuts[f"per {grain} by {split}"] = queries.series(facts, grain, split, currency)
    return cuts


def _check(facts: Facts) -> None:
    assert queries.currencies(facts), "the period has money in it"
    for currency in queries.totals(facts):
        total = queries.total(facts, currency)
        assert total == queries.totals(facts)[currency]
        for name, rows in _cuts(facts, currency).items():
            assert _sum(rows, currency) == total, f"{currency} {name}"


def test_demo_totals_equal_every_breakdown(demo_facts: Facts) -> None:
    _check(demo_facts)
    totals = queries.totals(demo_facts)
    assert {"usd", "eur", "jpy"} <= set(totals)
    assert all(t.gmv > 0 and t.revenue > 0 for t in totals.values())
    assert sum(len(queries.breakdown(demo_facts, "charge_type", c)) for c in totals) >= 3, "all three flows"


def test_scenario_totals_equal_every_breakdown(scenarios) -> None:
    _check(queries.facts(scenarios.store.cursor(), scenarios.start, scenarios.end))


def test_previous_period_totals_equal_their_breakdown(demo_facts: Facts) -> None:
    before = queries.totals(demo_facts, current=False)
    assert before, "the demo has two years of history"
    assert sum(before[c].gmv for c in before) == int(
        demo_facts.by_day[~demo_facts.by_day["current"]]["gmv"].sum())


def test_converted_totals_equal_breakdowns_within_rounding(demo_facts: Facts) -> None:
    total = queries.total(demo_facts, None)
    assert total.currency == demo_facts.platform_currency == "usd"
    for name, rows in _cuts(demo_facts, None).items():
        summed = _sum(rows, total.currency)
        for measure in MEASURES:
            assert abs(getattr(summed, measure) - getattr(total, measure)) <= len(rows), f"{name}: {measure}"


def test_converted_view_covers_every_currency(demo_facts: Facts) -> None:
    """The demo's platform settles everything in USD, so every row converts; each rate is Stripe's."""
    assert queries.unconverted(demo_facts) == []
    rates = {r.currency: r for r in queries.rates_used(demo_facts)}
    assert set(rates) == set(queries.totals(demo_facts)) - {"usd"}
    assert all(r.lowest == r.highest == r.average for r in rates.values()), "the emulator's rates are fixed"


def test_top_merchants_are_the_largest(demo_facts: Facts) -> None:
    every = queries.breakdown(demo_facts, "merchant", "usd")
    top = queries.top_merchants(demo_facts, "revenue", "usd", limit=5)
    assert [r.keys["merchant"] for r in top] == [r.keys["merchant"] for r in sorted(
        (r for r in every if r.keys["merchant"] != queries.UNKNOWN), key=lambda r: -r.measures.revenue)][:5]
    assert [r.measures.gmv for r in queries.top_merchants(demo_facts, "gmv", "usd", limit=5)] == sorted(
        (r.measures.gmv for r in every if r.keys["merchant"] != queries.UNKNOWN), reverse=True)[:5]
