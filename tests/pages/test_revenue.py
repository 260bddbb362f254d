"""The Revenue page under AppTest on the small demo: tiles, charts with tables, the view in the URL."""
from __future__ import annotations

from datetime import timedelta

from core.app.st_runtime import get_runtime
from core.clock import utc_now
from core.money import format_amount
from core.revenue import queries
from tests.pages.conftest import open_app


def _revenue(role: str = "finance", **params: str):
    at = open_app(role)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page("pages/revenue.py").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_the_page_shows_tiles_charts_and_tables() -> None:
    at = _revenue(period="365d")
    labels = {m.label for m in at.metric}
    assert {"GMV", "Net GMV", "Revenue", "Margin", "Losses", "Reconciliation"} <= labels
    assert _metric(at, "Reconciliation") == "Balanced"
    assert len(at.get("plotly_chart")) >= 8
    downloads = [e for e in at.get("download_button") if getattr(e, "label", "") == "Download CSV"]
    assert len(downloads) >= 8, "every chart has its table and CSV"
    assert all(m.help for m in at.metric), "each tile explains its definition on hover"


def _facts(days: int = 365) -> queries.Facts:
    today = utc_now().date()
    return queries.facts(get_runtime().store.cursor(), today - timedelta(days=days - 1), today)


def test_a_view_in_the_url_is_applied_and_its_tiles_are_the_totals() -> None:
    today = utc_now().date()
    start = today - timedelta(days=89)
    at = _revenue(**{"from": start.isoformat(), "to": today.isoformat(), "by": "week", "currency": "eur"})
    assert at.selectbox(key="revenue_preset").value == "custom"
    assert at.segmented_control(key="revenue_grain").value == "week"
    assert at.selectbox(key="revenue_currency").value == "eur"
    total = queries.total(_facts(90), "eur")
    assert _metric(at, "GMV") == format_amount(total.gmv, "eur")
    assert _metric(at, "Revenue") == format_amount(total.revenue, "eur")
    assert _metric(at, "Take rate (margin) (bp)") == f"{total.take_rate_bps:,.1f} bp"
    assert dict(at.query_params) == {"from": start.isoformat(), "to": today.isoformat(), "by": "week",
                                     "currency": "eur"}


def test_widgets_write_the_view_into_the_url() -> None:
    at = _revenue()
    assert dict(at.query_params) == {}, "the default view keeps the link plain"
    at.selectbox(key="revenue_preset").select("90d").run()
    at.segmented_control(key="revenue_grain").set_value("month").run()
    at.segmented_control(key="revenue_split").set_value("currency").run()
    assert not at.exception, at.exception
    assert dict(at.query_params) == {"period": "90d", "by": "month", "split": "currency"}
    assert _metric(at, "GMV") == format_amount(queries.total(_facts(90), None).gmv, "usd")


def test_a_click_on_a_top_merchant_opens_it() -> None:
    at = _revenue(period="365d")
    top = queries.top_merchants(_facts(), "revenue", None, limit=1)[0].keys["merchant"]
    at.session_state["top-revenue_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Merchants"]
    assert at.query_params["account"] == top


def test_support_cannot_open_it() -> None:
    at = open_app("support")
    try:
        at.switch_page("pages/revenue.py").run()
    except ValueError:
        return  # not even registered for this session
    assert "Revenue" not in [t.value for t in at.title]


def test_a_period_without_charges_says_so() -> None:
    at = _revenue(**{"from": "2001-01-01", "to": "2001-01-31"})
    assert _metric(at, "GMV") == "$0.00" and _metric(at, "Take rate (margin) (bp)") == "—"
    assert any("Nothing in this period" in c.value for c in at.caption)


def test_dates_out_of_range_in_the_url_are_one_line_not_a_crash() -> None:
    """?to= a future date and ?from=0001-01-01 crashed the page (date_input bounds, date overflow)."""
    today = utc_now().date()
    for params in ({"from": (today - timedelta(days=10)).isoformat(), "to": "9999-12-31"},
                   {"from": "0001-01-01", "to": today.isoformat()}, {"from": "0001-01-01", "to": "0001-02-01"}):
        at = _revenue(**params)
        assert [w.value for w in at.warning if "dates asked for" in str(w.value)], params
        assert at.selectbox(key="revenue_preset").value == "custom"


def test_figures_apart_and_merchant_economics_are_shown() -> None:
    """Issue 20: refunded volume, awaiting transfer and the platform's own sales beside revenue; merchant
    economics (concentration, revenue per merchant, NRR by cohort, churn) with tables and CSV."""
    at = _revenue(period="365d")
    total = queries.total(_facts(), None)
    assert _metric(at, "Platform's own sales") == format_amount(total.platform_own_sales, "usd")
    assert total.platform_own_sales > 0 and total.awaiting_transfer > 0, "the demo has both"
    assert _metric(at, "Awaiting transfer") == format_amount(total.awaiting_transfer, "usd")
    assert any(m.label.startswith("Top 10 merchants' share of revenue") for m in at.metric)
    labels = [getattr(e, "label", "") for e in at.get("download_button")]
    assert labels.count("Download CSV") >= 13 and "Download concentration CSV" in labels
    metrics = {m.label: m.value for m in at.metric}
    assert {"Platform available (USD)", "Accounts pending (USD)", "Negative balances outstanding (USD)"} <= set(metrics)


def test_dated_by_event_from_the_url() -> None:
    at = _revenue(period="365d", dated="event")
    assert at.segmented_control(key="revenue_dated").value == "event"
    today = utc_now().date()
    total = queries.total(queries.facts(get_runtime().store.cursor(), today - timedelta(days=364), today,
                                        dated="event"), None)
    assert _metric(at, "Losses") == format_amount(total.losses, "usd")
    assert at.query_params["dated"] == "event"
