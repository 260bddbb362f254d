"""The Revenue page's view in the URL: read leniently, written minimally, the same view back."""
from __future__ import annotations

from datetime import date

import pytest

from core.revenue.view import MAX_DAYS, RevenueView, chart_label

TODAY = date(2025, 6, 15)


def test_defaults_are_the_last_30_days_by_day_converted() -> None:
    view = RevenueView.from_query_params({})
    period = view.period(TODAY)
    assert (period.start, period.end, period.days) == (date(2025, 5, 17), TODAY, 30)
    assert (view.grain, view.currency, view.split) == ("day", None, "charge_type")
    assert view.to_query_params() == {}


@pytest.mark.parametrize("params", [
    {"period": "90d", "by": "week"},
    {"from": "2025-01-01", "to": "2025-03-31", "by": "month", "currency": "eur"},
    {"period": "365d", "split": "currency"},
])
def test_round_trip(params: dict[str, str]) -> None:
    view = RevenueView.from_query_params(params)
    assert view.to_query_params() == params
    assert RevenueView.from_query_params(view.to_query_params()) == view


def test_custom_dates_are_inclusive_ordered_and_bounded() -> None:
    view = RevenueView.from_query_params({"from": "2025-03-31", "to": "2025-01-01"})
    assert view.period(TODAY).start == date(2025, 1, 1) and view.period(TODAY).end == date(2025, 3, 31)
    assert view.period(TODAY).bounds[1].isoformat() == "2025-04-01T00:00:00", "the last day is included"
    long = RevenueView.from_query_params({"from": "2000-01-01", "to": "2025-01-01"}).period(TODAY)
    assert long.days == MAX_DAYS and long.end == date(2025, 1, 1)


@pytest.mark.parametrize("params", [{"period": "2y"}, {"by": "hour"}, {"currency": "<b>"}, {"from": "2025-13-01",
                                                                                          "to": "2025-01-01"},
                                    {"split": "merchant"}, {"currency": ["usd", "x"]}])
def test_bad_values_fall_back_to_defaults(params: dict) -> None:
    view = RevenueView.from_query_params(params)
    assert view.to_query_params() == {}
    assert view.period(TODAY).days == 30


@pytest.mark.parametrize("name", ["<a href='https://phish.example'>Pay</a>", "<img src=x onerror=alert(1)>",
                                  "Refund Desk \u202emoc.elpmaxe-hsihp\u202c", "Line<br>break", "A" * 300])
def test_merchant_names_in_charts_are_text(name: str) -> None:
    label = chart_label(name)
    assert "<" not in label and "\u202e" not in label and len(label) <= 60
