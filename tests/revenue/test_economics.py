"""Merchant economics on hand-made day sums (the arithmetic, each expectation worked out by hand), and on the
synced demo (the identities between the figures)."""
from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from core.clock import utc_now
from core.revenue import economics, queries


def _days(rows: list[tuple[str, str, date, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["merchant", "currency", "day", "gmv", "revenue"])


END = date(2025, 12, 31)


def test_concentration_is_the_top_merchants_share() -> None:
    # 12 merchants: m0 brings 1,200 of revenue, m1..m11 100 each; total 2,300. Top 10: 1,200 + 9 x 100 = 2,100.
    rows = [("m0", "usd", date(2025, 6, 1), 10_000, 1_200)]
    rows += [(f"m{i}", "usd", date(2025, 6, 1), 1_000, 100) for i in range(1, 12)]
    rows += [("m0", "usd", date(2024, 6, 1), 99_999, 99_999)]  # before the period: not counted
    (got,) = economics.concentration(_days(rows), date(2025, 1, 1), END)
    assert (got.merchants, got.revenue, got.top_revenue, got.top_share) == (12, 2_300, 2_100, round(2_100 / 2_300, 4))
    assert (got.gmv, got.top_gmv) == (21_000, 19_000)


def test_net_revenue_retention_by_cohort() -> None:
    # Cohort 2023: a (1,000 last year, 1,500 this year), b (500 last year, churned: 0). NRR = 1,500 / 1,500 = 1.0.
    # Cohort 2024: c (200 last year, 100 this year): 0.5. d started this year: no cohort of last year's.
    rows = [("a", "usd", date(2023, 3, 1), 5_000, 300), ("a", "usd", date(2024, 6, 1), 9_000, 1_000),
            ("a", "usd", date(2025, 6, 1), 9_000, 1_500), ("b", "usd", date(2023, 5, 1), 4_000, 100),
            ("b", "usd", date(2024, 2, 1), 4_000, 500), ("c", "usd", date(2024, 9, 1), 2_000, 200),
            ("c", "usd", date(2025, 9, 1), 1_000, 100), ("d", "usd", date(2025, 2, 1), 7_000, 700)]
    got = {r.cohort: r for r in economics.retention(_days(rows), END)}
    assert set(got) == {2023, 2024}
    assert (got[2023].merchants, got[2023].last_year, got[2023].this_year, got[2023].nrr) == (2, 1_500, 1_500, 1.0)
    assert (got[2024].merchants, got[2024].last_year, got[2024].this_year, got[2024].nrr) == (1, 200, 100, 0.5)


def test_churned_and_reactivated_per_month() -> None:
    # Jan: a, b. Feb: a (b churns). Mar: a, b (b reactivated), c (new). Apr: nobody (a, b, c churn).
    rows = [("a", "usd", date(2025, 1, 5), 100, 10), ("b", "usd", date(2025, 1, 9), 100, 10),
            ("a", "usd", date(2025, 2, 5), 100, 10), ("a", "usd", date(2025, 3, 5), 100, 10),
            ("b", "eur", date(2025, 3, 7), 100, 10), ("c", "usd", date(2025, 3, 8), 100, 10)]
    got = [(f.month.month, f.active, f.new, f.retained, f.reactivated, f.churned)
           for f in economics.churn(_days(rows), date(2025, 1, 1), date(2025, 4, 30))]
    assert got == [(1, 2, 2, 0, 0, 0), (2, 1, 0, 1, 0, 1), (3, 3, 1, 1, 1, 0), (4, 0, 0, 0, 0, 3)]


def test_the_demo_economics_agree_with_the_page(synced_store) -> None:
    yesterday = utc_now().date() - timedelta(days=1)
    start = yesterday - timedelta(days=364)
    cur = synced_store.cursor()
    facts = queries.facts(cur, start, yesterday)
    days = economics.merchant_days(cur, yesterday, facts.platform_currency)
    per = economics.merchant_revenue(days, start, yesterday)
    for currency, measures in queries.totals(facts).items():
        mine = per[per["currency"] == currency]
        unattributed = queries.rollup(facts.by_merchant[(facts.by_merchant["merchant"] == queries.UNKNOWN)
                                                        & (facts.by_merchant["currency"] == currency)], [], currency)
        rest = unattributed[0].measures if unattributed else None
        assert int(mine["gmv"].sum()) + (rest.gmv if rest else 0) == measures.gmv, currency
        assert int(mine["revenue"].sum()) + (rest.revenue if rest else 0) == measures.revenue, currency
    flows = economics.churn(days, start, yesterday)
    for before, now in zip(flows, flows[1:]):
        assert now.active == now.retained + now.new + now.reactivated
        assert before.active == now.retained + now.churned
    assert all(0 < c.top_share <= 1 for c in economics.concentration(days, start, yesterday) if c.top_share)
