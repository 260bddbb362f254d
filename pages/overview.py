"""Overview: platform KPIs for a period, each linking to the page that explains it; sync history."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path

import streamlit as st

from core import clock
from core.overview import metrics
from core.auth import allowed
from core.money import format_amount
from core.app.st_runtime import page_header, query, sync_with_progress
from core.overview.sync_history import sync_history
from core.revenue.definitions import DEFINITIONS

runtime, actor = page_header("Overview", "overview")

PERIODS = {"Last 7 days": 7, "Last 30 days": 30, "Last 90 days": 90, "Last 12 months": 365}
left, right = st.columns([3, 1])
label = left.segmented_control("Period", list(PERIODS), default="Last 30 days", key="overview_period") or "Last 30 days"
end = datetime.combine(clock.today() + timedelta(days=1), time())
start = end - timedelta(days=PERIODS[label])
if right.button("Sync now", icon=":material/sync:", disabled=not allowed(actor, "action:sync"),
                help="Fetch what changed in Stripe since the last sync"):
    sync_with_progress(runtime, "Syncing from Stripe…")
    st.rerun()  # the header's freshness (and any error, in words) comes from the run log

empty = runtime.no_data_text()  # before the first rows arrive a figure says so: a zero must mean zero
data = None if empty else query(metrics.overview, start, end)


def money_lines(rows: list[metrics.Money]) -> str:
    return "  \n".join(f"{format_amount(r.amount, r.currency)} ({r.count:,})" for r in rows) or "—"


def link(page: str, text: str) -> None:
    if allowed(actor, f"page:{page}") and (Path(__file__).parent / f"{page}.py").exists():
        st.page_link(f"pages/{page}.py", label=text, icon=":material/arrow_forward:")


cols = st.columns(3)
with cols[0].container(border=True):
    st.markdown("**Connected accounts by status**")
    if data is None:
        st.caption(empty)
    else:
        for row in data.accounts_by_status:
            st.markdown(f"{row.label}: **{row.count:,}**")
    link("merchants", "Find a merchant")
with cols[1].container(border=True):
    st.markdown(f"**GMV** · {label.lower()} · per currency, never summed across currencies",
                help=DEFINITIONS["gmv"].help)
    if data is None:
        st.caption(empty)
    else:
        st.markdown(money_lines(data.gmv))
    link("revenue", "Revenue by period, country and merchant")
with cols[2].container(border=True):
    st.markdown(f"**Application-fee revenue** · {label.lower()}",
                help=f"{DEFINITIONS['application_fees'].help} Less fee refunds. Revenue with implicit fees: "
                     "the Revenue page.")
    if data is None:
        st.caption(empty)
    else:
        st.markdown(money_lines(data.fee_revenue))
    link("revenue", "Take rate and refunds")

cols = st.columns(3)
with cols[0].container(border=True):
    if data is None:
        st.metric("Open disputes", "—")
        st.caption(empty)
    else:
        st.metric("Open disputes", f"{sum(r.count for r in data.open_disputes):,}")
        st.markdown(money_lines(data.open_disputes))
    link("risk", "Work the risk queue")
with cols[1].container(border=True):
    st.metric(f"Failed payouts · {label.lower()}", "—" if data is None else f"{data.failed_payouts:,}")
    if data is None:
        st.caption(empty)
    link("risk", "Accounts with failed payouts")
with cols[2].container(border=True):
    st.metric("Accounts needing action", "—" if data is None else f"{data.accounts_needing_action:,}",
              help="Restricted (not rejected) or restricted soon: requirements are due")
    if data is None:
        st.caption(empty)
    link("merchants", "Look one up")

st.subheader("Sync history")
history = sync_history(runtime.store.cursor())
if history:
    last = history[0]
    st.caption(f"Last sync: run #{last['run']} · {last['mode']} · {last['status']} · "
               f"{last['objects'] or 0:,} objects · {last['requests'] or 0:,} requests · {last['seconds'] or 0} s")
    st.dataframe(history, hide_index=True, width="stretch")
else:
    st.caption("No sync has run yet.")
