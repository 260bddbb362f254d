"""Audit log: every action, filterable by actor, action, account and date; exportable as CSV."""
from __future__ import annotations

from datetime import datetime, time, timedelta

import streamlit as st

from core import audit, clock
from core.app.st_runtime import page_header, query

page_header("Audit log", "audit")
st.caption("Append-only: Connect Ops writes a row for every action, refused and failed ones included.")

cols = st.columns([2, 2, 2, 3])
actor_filter = cols[0].selectbox("Actor", [None, *query(audit.distinct_values, "actor_email")], format_func=lambda v: v or "anyone")
action = cols[1].selectbox("Action", [None, *query(audit.distinct_values, "action")], format_func=lambda v: v or "any")
account = cols[2].text_input("Account id", placeholder="acct_…").strip() or None
today = clock.today()
period = cols[3].date_input("Dates", value=(today - timedelta(days=30), today), max_value=today + timedelta(days=1))
text = st.text_input("Search ids, reasons and parameters", placeholder="ch_…, ticket number, amount…")

since = until = None
if isinstance(period, tuple) and len(period) == 2:
    since = datetime.combine(period[0], time())
    until = datetime.combine(period[1] + timedelta(days=1), time())
rows = query(audit.entries, actor=actor_filter, action=action, account_id=account, since=since, until=until, text=text)
st.write(f"{len(rows):,} entries" + (" (the newest 1,000)" if len(rows) == 1000 else ""))
if rows:
    st.download_button("Export CSV", audit.to_csv(rows), file_name=f"connect-ops-audit-{today}.csv",
                       mime="text/csv", icon=":material/download:")
    st.dataframe([r.model_dump() for r in rows], hide_index=True, width="stretch")
