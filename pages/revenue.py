"""Revenue: how much flowed, what the platform kept and what it lost, by day, week or month and by every cut.

Layout and widgets only: the figures come from core/revenue (each definition shown on hover), the view
lives in the URL (core/revenue/view.py), and every chart has its table and a CSV (money in minor units).
"""
from __future__ import annotations

from datetime import date
from typing import Any

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core import clock
from core.app.st_runtime import page_header, query
from core.app.text import NAME_LIMIT, md, visible
from core.money import format_amount, format_amounts, to_major
from core.revenue import balances, dating, economics, queries
from core.revenue.definitions import DEFINITIONS, Measures
from core.revenue.queries import Row
from core.revenue.dating import DATINGS
from core.revenue.view import (PRESET_LABELS, QUERY_KEYS, SPLITS, RevenueView, chart_label, cohorts_csv, rows_csv,
                               shown_rows)

runtime, actor = page_header("Revenue", "revenue")
ALL = "all"  # the currency picker's platform-currency view
LABELS = {"charge_type": "Charge type", "currency": "Currency", "country": "Country", "account_type": "Account type",
          "merchant": "Merchant", "period": "Period", "gmv": "GMV", "revenue": "Revenue", "margin": "Margin",
          "take_rate_bps": "Take rate (bp)", "revenue_rate_bps": "Revenue rate (bp)", "refunded": "Refunds",
          "disputes_lost": "Lost disputes", "dispute_fees": "Dispute fees",
          "negative_balances_covered": "Negative balances covered", "losses": "Losses", "net_gmv": "Net GMV",
          "losses_refunds": "Refund losses", "losses_disputes": "Dispute losses", "stripe_fees": "Stripe fees",
          "awaiting_transfer": "Awaiting transfer", "platform_own_sales": "Platform's own sales"}
MERCHANTS_PAGE = "pages/merchants.py"


def explain(*keys: str) -> str:
    return " ".join(DEFINITIONS[k].help for k in keys)


# --------------------------------------------------------------------------- controls (they live in the URL)


def controls(today: date, seen: list[str]) -> RevenueView:
    """Widgets start from the URL and write it back, so any view is a link someone can share."""
    url = RevenueView.from_query_params(st.query_params)
    shown = url.period(today)
    for key, value in {"revenue_preset": url.preset, "revenue_dates": (shown.start, shown.end),
                       "revenue_grain": url.grain, "revenue_currency": url.currency or ALL,
                       "revenue_split": url.split, "revenue_dated": url.dated}.items():
        st.session_state.setdefault(key, value)
    cols = st.columns(4)
    preset = cols[0].selectbox("Period", list(PRESET_LABELS), format_func=PRESET_LABELS.get, key="revenue_preset",
                               help="Dates are UTC. A charge counts on the day it was created, and so does a fee.")
    picked = (cols[0].date_input("Dates", key="revenue_dates", min_value=queries.EARLIEST, max_value=today)
              if preset == "custom"
              else (shown.start, shown.end))
    grain = cols[1].segmented_control("Grain", queries.GRAINS, key="revenue_grain") or "day"
    options = [ALL, *sorted({*seen, *([url.currency] if url.currency else [])})]
    currency = cols[2].selectbox("Currency", options, key="revenue_currency",
                                 format_func=lambda c: "All, converted" if c == ALL else c.upper(),
                                 help=DEFINITIONS["platform_currency"].help)
    split = cols[3].segmented_control("Stack by", SPLITS, format_func=LABELS.get, key="revenue_split",
                                      help="Stacking by currency needs the converted view") or "charge_type"
    dated = cols[3].segmented_control("Dated by", DATINGS, key="revenue_dated",
                                      format_func={"charge": "Charge date", "event": "Event date"}.get,
                                      help=dating.__doc__.split("\n\n")[1].replace("\n", " ")) or "charge"
    dates = list(picked) if isinstance(picked, (tuple, list)) else [picked]
    start, end = (dates + dates)[:2] if dates and dates[0] else (shown.start, shown.end)
    view = RevenueView(preset=preset, start=start, end=end, grain=grain,
                       currency=None if currency == ALL else currency, split=split, dated=dated)
    notice = url.notice(today)
    if notice:
        st.warning(notice, icon=":material/date_range:")
    write_url(view)
    return view


def write_url(view: RevenueView) -> None:
    wanted = view.to_query_params()
    for key in QUERY_KEYS:
        if key in wanted and st.query_params.get(key) != wanted[key]:
            st.query_params[key] = wanted[key]
        elif key not in wanted and key in st.query_params:
            del st.query_params[key]


# --------------------------------------------------------------------------- tiles


def change(now: float | None, before: float | None, points: bool = False) -> str | None:
    """A tile's change against the previous period: percent for money, basis points for rates."""
    if now is None or before is None:
        return None
    if points:
        return f"{now - before:+,.1f} bp"
    return f"{(now - before) / abs(before):+.1%}" if before else None


def tiles(now: Measures, before: Measures, differences: dict[str, int], unmatched: int) -> None:
    cols = st.columns(4)
    money = (("gmv", "normal"), ("net_gmv", "normal"), ("revenue", "normal"), ("margin", "normal"),
             ("losses", "inverse"))
    for i, (name, color) in enumerate(money):
        cols[i % 4].metric(LABELS[name], format_amount(getattr(now, name), now.currency),
                           change(getattr(now, name), getattr(before, name)), delta_color=color, border=True,
                           help=f"{explain(name)} The change compares with the previous period of the same length.")
    for i, name in enumerate(("take_rate_bps", "revenue_rate_bps"), start=len(money)):
        value = getattr(now, name)
        cols[i % 4].metric(f"{DEFINITIONS[name].label} (bp)", "—" if value is None else f"{value:,.1f} bp",
                           change(value, getattr(before, name), points=True), border=True, help=explain(name))
    balanced = not differences and not unmatched
    note = " · ".join(filter(None, [format_amounts(differences) if differences else "",
                                    f"{unmatched:,} ledger entries without a fee" if unmatched else ""]))
    cols[3].metric("Reconciliation", "Balanced" if balanced else "Difference", note or None, delta_color="off",
                   border=True, help=explain("reconciliation"))


# --------------------------------------------------------------------------- one chart, its table, its CSV


def table(rows: list[Row], key: str, fields: tuple[str, ...], selectable: bool = False) -> Any:
    """The chart's numbers (formatted in their currency) and a CSV of every figure in minor units."""
    with st.expander("Table", expanded=False):
        shown = st.dataframe(shown_rows(rows, fields), hide_index=True, key=f"{key}_table",
                             column_config={k: LABELS.get(k, k) for k in (*rows[0].keys, *fields)},
                             on_select="rerun" if selectable else "ignore", selection_mode="single-row")
        st.download_button("Download CSV", rows_csv(rows), file_name=f"revenue-{key}.csv", mime="text/csv",
                           icon=":material/download:", on_click="ignore", key=f"{key}_csv")
    return shown


def points(rows: list[Row], names: tuple[str, ...]) -> list[dict[str, Any]]:
    """Chart data: keys, then money in major units of the row's currency (rates as they are)."""
    out = []
    for row in rows:
        line = dict(row.keys)
        for name in names:
            value = getattr(row.measures, name)
            line[LABELS[name]] = value if name.endswith("_bps") else float(to_major(value, row.measures.currency))
        out.append(line)
    return out


def heading(title: str, help: str, rows: list[Row]) -> bool:
    st.subheader(title, help=help)
    if not rows:
        st.caption("Nothing in this period.")
    return bool(rows)


def over_time(facts: queries.Facts, view: RevenueView, unit: str) -> None:
    """GMV and revenue per period, stacked by currency (converted view only) or by charge type."""
    split = "currency" if view.split == "currency" and view.currency is None else "charge_type"
    rows = queries.series(facts, view.grain, split, view.currency)
    if not heading(f"GMV and revenue over time, by {LABELS[split].lower()}", explain("gmv", "revenue"), rows):
        return
    data = points(rows, ("gmv", "revenue"))
    cols = st.columns(2)
    for col, name in zip(cols, ("gmv", "revenue")):
        figure = px.bar(data, x="period", y=LABELS[name], color=split, title=f"{LABELS[name]} ({unit.upper()})",
                        labels={"period": "", split: LABELS[split]})
        col.plotly_chart(figure, key=f"time_{name}_chart")
    table(rows, "over-time", ("gmv", "revenue", "margin", "take_rate_bps"))


def take_rate(facts: queries.Facts, view: RevenueView) -> None:
    rows = queries.series(facts, view.grain, None, view.currency)
    if not heading("Take rate over time", explain("take_rate_bps", "revenue_rate_bps"), rows):
        return
    figure = px.line(points(rows, ("take_rate_bps", "revenue_rate_bps")), x="period",
                     y=[LABELS["take_rate_bps"], LABELS["revenue_rate_bps"]], markers=True,
                     labels={"period": "", "value": "basis points", "variable": ""})
    st.plotly_chart(figure, key="take_rate_chart")
    table(rows, "take-rate", ("gmv", "revenue", "margin", "take_rate_bps", "revenue_rate_bps"))


def revenue_by(facts: queries.Facts, view: RevenueView, unit: str) -> None:
    cols = st.columns(2)
    for col, cut in zip(cols, ("country", "account_type")):
        with col:
            rows = queries.breakdown(facts, cut, view.currency)
            if not heading(f"Revenue by {LABELS[cut].lower()}", explain("revenue"), rows):
                continue
            figure = px.bar(points(rows, ("revenue",)), x=cut, y=LABELS["revenue"], labels={cut: ""},
                            title=f"{LABELS['revenue']} ({unit.upper()})")
            st.plotly_chart(figure, key=f"by_{cut}_chart")
            table(rows, f"by-{cut.replace('_', '-')}", ("gmv", "revenue", "margin", "take_rate_bps"))


def open_merchant(account_id: str) -> None:
    st.switch_page(MERCHANTS_PAGE, query_params={"account": account_id})


def top(facts: queries.Facts, view: RevenueView, unit: str) -> None:
    """Top merchants by revenue and by GMV; a click on a bar or a row opens the merchant."""
    cols = st.columns(2)
    for col, by in zip(cols, ("revenue", "gmv")):
        with col:
            rows = queries.top_merchants(facts, by, view.currency)
            if not heading(f"Top merchants by {LABELS[by].lower() if by != 'gmv' else 'GMV'}",
                           f"{explain(by)} Click a bar or a row to open the merchant.", rows):
                continue
            names = query(queries.merchants, tuple(r.keys["merchant"] for r in rows))
            for row in rows:
                found = names.get(row.keys["merchant"])
                row.keys["business_name"] = visible(found.business_name if found else "", NAME_LIMIT)
            data = points(rows, (by,))
            for line in data:
                line["label"] = chart_label(line["business_name"] or line["merchant"])
            figure = px.bar(data, x=LABELS[by], y="label", orientation="h", custom_data=["merchant"],
                            labels={"label": ""}, title=f"{LABELS[by]} ({unit.upper()})")
            figure.update_yaxes(autorange="reversed")
            chart = st.plotly_chart(figure, key=f"top_{by}_chart", on_select="rerun", selection_mode="points")
            picked = table(rows, f"top-{by}", ("gmv", "revenue", "take_rate_bps"), selectable=True)
            chosen = [p["customdata"][0] for p in chart.selection.points if p.get("customdata")]
            chosen += [rows[i].keys["merchant"] for i in picked.selection.rows]
            if chosen:
                open_merchant(chosen[0])


def cohorts(period: queries.Period, view: RevenueView, seen: list[str]) -> None:
    cells = query(queries.cohorts, period.start, period.end)
    st.subheader("New-merchant cohorts: GMV by months since the first charge",
                 help=f"Merchants whose first charge falls in the {queries.COHORT_MONTHS} months up to the "
                      "period's end, grouped by that month; their GMV in each month since, up to the period's end. "
                      "Per currency: a cohort's months hold charges of many days and rates.")
    present = sorted({c.currency for c in cells}, key=lambda c: -sum(x.gmv for x in cells if x.currency == c))
    if not present:
        st.caption("No merchant made a first charge in these months.")
        return
    currency = view.currency if view.currency in present else st.segmented_control(
        "Cohort currency", present, default=present[0], key="revenue_cohort_currency",
        format_func=str.upper) or present[0]
    mine = [c for c in cells if c.currency == currency]
    rows = sorted({c.cohort for c in mine})
    ages = list(range(max(c.months for c in mine) + 1))
    grid: list[list[float | None]] = [[None] * len(ages) for _ in rows]
    for c in mine:
        grid[rows.index(c.cohort)][c.months] = float(to_major(c.gmv, currency))
    figure = go.Figure(go.Heatmap(z=grid, x=ages, y=[r.strftime("%Y-%m") for r in rows], colorscale="Blues",
                                  texttemplate="%{z:.3s}", hoverongaps=False, colorbar={"title": currency.upper()}))
    figure.update_layout(title=f"GMV ({currency.upper()})", xaxis={"title": "months since the first charge",
                                                                   "dtick": 1}, yaxis={"title": "first charge in",
                                                                                        "type": "category"})
    st.plotly_chart(figure, key="cohorts_chart")
    with st.expander("Table", expanded=False):
        st.dataframe([{"cohort": c.cohort.strftime("%Y-%m"), "months since first charge": c.months,
                       "GMV": format_amount(c.gmv, c.currency), "merchants": c.merchants} for c in mine],
                     hide_index=True, key="cohorts_table")
        st.download_button("Download CSV", cohorts_csv(cells), file_name="revenue-cohorts.csv",
                           mime="text/csv", icon=":material/download:", on_click="ignore", key="cohorts_csv")


def merchant_economics(period: queries.Period, view: RevenueView, platform: str) -> None:
    """Revenue per merchant, top-10 concentration, net revenue retention by cohort, churn per month."""
    days = query(economics.merchant_days, period.end, platform)
    st.subheader("Merchant economics", help="Per currency, from the same day sums as every figure above. A "
                 "merchant is active in a month with GMV in it; its cohort is the year of its first GMV.")
    spread = economics.concentration(days, period.start, period.end)
    if not spread:
        st.caption("No merchant had GMV or revenue in this period.")
        return
    cols = st.columns(len(spread[:4]))
    for col, c in zip(cols, spread[:4]):
        col.metric(f"Top {economics.TOP} merchants' share of revenue ({c.currency.upper()})",
                   "—" if c.top_share is None else f"{c.top_share:.1%}", border=True,
                   help=f"{c.merchants:,} merchants; the top {economics.TOP} brought "
                        f"{format_amount(c.top_revenue, c.currency)} of {format_amount(c.revenue, c.currency)}.")
    per = economics.merchant_revenue(days, period.start, period.end)
    names = {m: (found.business_name if found else None)
             for m, found in query(queries.merchants, tuple(per["merchant"].head(200))).items()}
    currency = view.currency or spread[0].currency
    mine = per[per["currency"] == currency]
    left, right = st.columns(2)
    with left:
        figure = px.histogram(x=[float(to_major(int(v), currency)) for v in mine["revenue"]], nbins=30,
                              labels={"x": f"revenue per merchant ({currency.upper()})"},
                              title=f"Revenue per merchant ({currency.upper()})")
        st.plotly_chart(figure, key="merchant_revenue_chart")
        with st.expander("Table", expanded=False):
            st.dataframe([{"merchant": r.merchant, "name": visible(names.get(r.merchant) or "", NAME_LIMIT),
                           "GMV": format_amount(int(r.gmv), r.currency),
                           "revenue": format_amount(int(r.revenue), r.currency)}
                          for r in per.head(500).itertuples(index=False)], hide_index=True, key="merchant_revenue_table")
            st.download_button("Download CSV", economics.merchant_revenue_csv(per, names),
                               file_name="revenue-per-merchant.csv", mime="text/csv", icon=":material/download:",
                               on_click="ignore", key="merchant_revenue_csv")
            st.download_button("Download concentration CSV", economics.concentration_csv(spread),
                               file_name="revenue-concentration.csv", mime="text/csv", icon=":material/download:",
                               on_click="ignore", key="concentration_csv")
    with right:
        kept = economics.retention(days, period.end)
        shown = [r for r in kept if r.currency == currency and r.nrr is not None]
        figure = px.bar(x=[str(r.cohort) for r in shown], y=[r.nrr * 100 for r in shown],
                        labels={"x": "first charge in", "y": "net revenue retention (%)"},
                        title=f"Net revenue retention by cohort ({currency.upper()})")
        st.plotly_chart(figure, key="retention_chart")
        with st.expander("Table", expanded=False):
            st.dataframe([{"cohort": r.cohort, "currency": r.currency, "merchants": r.merchants,
                           "last year": format_amount(r.last_year, r.currency),
                           "this year": format_amount(r.this_year, r.currency),
                           "NRR": None if r.nrr is None else f"{r.nrr:.1%}"} for r in kept],
                         hide_index=True, key="retention_table")
            st.download_button("Download CSV", economics.retention_csv(kept), file_name="revenue-retention.csv",
                               mime="text/csv", icon=":material/download:", on_click="ignore", key="retention_csv")
    flows = economics.churn(days, period.start, period.end)
    figure = go.Figure([go.Bar(name="new", x=[f.month for f in flows], y=[f.new for f in flows]),
                        go.Bar(name="reactivated", x=[f.month for f in flows], y=[f.reactivated for f in flows]),
                        go.Bar(name="churned", x=[f.month for f in flows], y=[-f.churned for f in flows])])
    figure.update_layout(barmode="relative", title="Merchants new, reactivated and churned per month",
                         yaxis={"title": "merchants"})
    st.plotly_chart(figure, key="churn_chart")
    with st.expander("Table", expanded=False):
        st.dataframe([f.model_dump() for f in flows], hide_index=True, key="churn_table")
        st.download_button("Download CSV", economics.churn_csv(flows), file_name="revenue-churn.csv", mime="text/csv",
                           icon=":material/download:", on_click="ignore", key="churn_csv")


FLOAT_LABELS = {"platform_available": "Platform available", "platform_pending": "Platform pending",
                "accounts_available": "Accounts available", "accounts_pending": "Accounts pending",
                "negative_outstanding": "Negative balances outstanding", "awaiting_transfer": "Awaiting transfer"}


def balances_and_float(period: queries.Period, view: RevenueView, platform: str, today: date) -> None:
    """The platform's and the accounts' balances at the period's end, and each over the period."""
    points = query(balances.float_series, period.start, min(period.end, today), platform)
    st.subheader("Balances and float", help=balances.__doc__.split("\n\n")[1].replace("\n", " "))
    if not points:
        st.caption("No balance transactions by the end of this period.")
        return
    last_day = max(p.day for p in points)
    currencies = sorted({p.currency for p in points if p.day == last_day},
                        key=lambda c: c != (view.currency or platform))
    currency = view.currency if view.currency in currencies else currencies[0]
    now = next(p for p in points if p.day == last_day and p.currency == currency)
    cols = st.columns(len(FLOAT_LABELS))
    for col, (name, label) in zip(cols, FLOAT_LABELS.items()):
        col.metric(f"{label} ({currency.upper()})", format_amount(getattr(now, name), currency), border=True,
                   help=f"At the end of {last_day} (UTC)."
                        + (f" {now.negative_accounts:,} accounts below zero." if name == "negative_outstanding" else ""))
    mine = [p for p in points if p.currency == currency]
    data = {"day": [p.day for p in mine]}
    data.update({label: [float(to_major(getattr(p, name), currency)) for p in mine]
                 for name, label in FLOAT_LABELS.items()})
    figure = px.line(data, x="day", y=list(FLOAT_LABELS.values()), labels={"day": "", "value": currency.upper(),
                                                                           "variable": ""})
    st.plotly_chart(figure, key="float_chart")
    with st.expander("Table", expanded=False):
        st.dataframe([p.model_dump() for p in points], hide_index=True, key="float_table")
        st.download_button("Download CSV", balances.float_csv(points), file_name="revenue-balances.csv",
                           mime="text/csv", icon=":material/download:", on_click="ignore", key="float_csv")


def losses(facts: queries.Facts, view: RevenueView, unit: str) -> None:
    rows = queries.series(facts, view.grain, None, view.currency)
    kinds = ("losses_refunds", "losses_disputes", "dispute_fees", "negative_balances_covered")
    if not heading("Losses the platform bore, over time", explain("losses", *kinds), rows):
        return
    figure = px.bar(points(rows, kinds), x="period", y=[LABELS[k] for k in kinds],
                    labels={"period": "", "value": unit.upper(), "variable": ""})
    st.plotly_chart(figure, key="losses_chart")
    table(rows, "losses", (*kinds, "losses", "refunded", "disputes_lost"))


def apart(now: Measures) -> None:
    """What is not Connect revenue but finance needs beside it: refunded volume (whoever bore it), money held
    for separate charges awaiting transfer, the platform's own sales; and whether transfers were shared out."""
    cols = st.columns(4)
    for col, name in zip(cols, ("refunded", "awaiting_transfer", "platform_own_sales", "stripe_fees")):
        col.metric(DEFINITIONS[name].label, format_amount(getattr(now, name), now.currency), border=True,
                   help=explain(name))
    if now.charges_allocated:
        st.caption(f"{now.charges_allocated:,} charges share their group's transfers by amount. "
                   + DEFINITIONS["charges_allocated"].help)
    if now.unconverted_transfers:
        st.warning(f"{now.unconverted_transfers:,} transfers are in a currency neither their charge's nor its "
                   "settlement's: left out of implicit fees.", icon=":material/currency_exchange:")


def conversion(facts: queries.Facts) -> None:
    """Which rates the converted view used, and what it could not convert."""
    rates = queries.rates_used(facts)
    left_out = queries.unconverted(facts)
    with st.expander(f"Exchange rates into {facts.platform_currency.upper()}"
                     + (f" · not converted: {format_amounts({u.currency: u.gmv for u in left_out})} of GMV"
                        if left_out else ""), expanded=False):
        st.caption(DEFINITIONS["platform_currency"].help)
        st.dataframe([r.model_dump() for r in rates], hide_index=True, key="rates_table")
        if left_out:
            st.dataframe([{"currency": u.currency, "GMV": format_amount(u.gmv, u.currency),
                           "revenue": format_amount(u.revenue, u.currency),
                           "losses": format_amount(u.losses, u.currency)} for u in left_out],
                         hide_index=True, key="unconverted_table")


def currencies_and_reconciliation(facts: queries.Facts, checked: list[queries.Reconciliation],
                                  orphans: list[queries.LedgerOrphans]) -> None:
    rows = queries.by_currency(facts)
    if heading("By currency, as charged", "Each currency on its own, never converted: the totals behind every "
               "view on this page.", rows):
        st.dataframe(shown_rows(rows, ("gmv", "net_gmv", "revenue", "margin", "take_rate_bps", "revenue_rate_bps",
                                       "losses")),
                     hide_index=True, key="currencies_table", column_config={k: LABELS.get(k, k) for k in LABELS})
        st.download_button("Download CSV", rows_csv(rows), file_name="revenue-by-currency.csv", mime="text/csv",
                           icon=":material/download:", on_click="ignore", key="currencies_csv")
    st.subheader("Reconciliation with the platform's balance transactions", help=explain("reconciliation"))
    st.dataframe([{"currency": r.currency, "fees": r.fees, "revenue (fees − fee refunds)":
                   format_amount(r.revenue, r.currency), "balance transactions": format_amount(r.ledger, r.currency),
                   "difference": format_amount(r.difference, r.currency),
                   "conversion rounding": format_amount(r.rounding, r.currency),
                   "fees without a balance transaction": r.missing_entries} for r in checked],
                 hide_index=True, key="reconciliation_table")
    for orphan in orphans:
        st.warning(f"{orphan.entries:,} application-fee balance transactions "
                   f"({format_amount(orphan.amount, orphan.currency)}) have no fee in the mirror.",
                   icon=":material/rule:")


# --------------------------------------------------------------------------- the page

today = clock.today()
seen = query(queries.seen_currencies)
view = controls(today, seen)
period = view.period(today)
empty = runtime.no_data_text()
if empty:
    st.info(empty, icon=":material/hourglass_top:")
    st.stop()

with st.spinner("Adding up the period…"):  # the first time in a process also builds the revenue cache
    facts = query(queries.facts, period.start, period.end, dated=view.dated)
    checked, orphans = query(queries.reconciliation, period.start, period.end)
unit = view.currency or facts.platform_currency
st.caption(f"{period.start:%d %b %Y} – {period.end:%d %b %Y} (UTC), each change against the {period.days} days "
           "before · " + (f"{md(unit.upper())} only, as charged" if view.currency else
                          f"all currencies converted into {md(unit.upper())} at settlement rates"))
tiles(queries.total(facts, view.currency), queries.total(facts, view.currency, current=False),
      {r.currency: r.difference for r in checked if r.difference}, sum(o.entries for o in orphans))
apart(queries.total(facts, view.currency))
if view.currency is None:
    conversion(facts)
over_time(facts, view, unit)
take_rate(facts, view)
revenue_by(facts, view, unit)
top(facts, view, unit)
cohorts(period, view, seen)
merchant_economics(period, view, facts.platform_currency)
balances_and_float(period, view, facts.platform_currency, today)
losses(facts, view, unit)
currencies_and_reconciliation(facts, checked, orphans)
