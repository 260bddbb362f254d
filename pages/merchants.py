"""Merchants: find one from anything an agent is handed, see it whole, act safely."""
from __future__ import annotations

import streamlit as st

from core import audit
from core.support import actions, lookup, merchant
from core.support import accounts
from core.account_status import LABELS
from core.actions import ActionFailed
from core.auth import PermissionDenied, allowed
from core.money import format_amount, with_money
from core.app.st_runtime import act, page_header, query
from core.app.text import NAME_LIMIT, md, md_code, visible

STATUS_COLORS = {"enabled": "green", "restricted_soon": "orange", "restricted": "red", "in_review": "blue",
                 "rejected": "gray"}
URGENCY = {"past_due": "Past due", "currently_due": "Currently due", "pending_verification": "Being verified",
           "eventually_due": "Eventually due", "future": "Future requirement"}
RETURN_URL = "https://dashboard.example.com/connect-ops/return"

runtime, actor = page_header("Merchants", "merchants")


def open_account(account_id: str) -> None:
    st.query_params["account"] = account_id


def show_search() -> None:
    text = st.text_input("Find a merchant", key="merchant_query", placeholder=(
        "acct_, ch_, py_, tr_, po_, re_, dp_, fee_, txn_ id (or part of one), email, business name, user id, "
        "bank fingerprint"))
    if not text:
        return
    result = query(lookup.lookup, text)
    if result.hint:
        st.info(result.hint, icon=":material/lightbulb:")
        return
    for note in result.notes:
        st.caption(md(note))  # notes quote what was typed
    if not result.matches:
        st.warning(f"No merchant matches “{md(text)}”.", icon=":material/search_off:")
        return
    for match in result.matches:
        cols = st.columns([4, 3, 1])
        cols[0].markdown(f"**{md(match.business_name or match.account_id, NAME_LIMIT)}** · {md_code(match.account_id)}  \n"
                         f"{md(match.email)} · {md(match.country)} · {md(match.type)}")
        via = f" via {md_code(match.via_object_id)}" if match.via_object_id else ""
        cols[1].caption(f"matched {md(match.matched_field)}: {md(match.matched_value, NAME_LIMIT)}{via}")
        cols[2].button("Open", key=f"open_{match.account_id}", on_click=open_account, args=(match.account_id,),
                       disabled=not match.in_mirror)


def show_flash() -> None:
    flash = st.session_state.pop("merchant_flash", None)
    if flash:
        kind, text, url = flash
        # successes are our own words about Stripe's ids and amounts; failures may quote input or Stripe
        st.success(text) if kind == "ok" else st.error(md(text))
        if url:
            st.code(url, language=None)


def reason_box(key: str) -> str:
    return st.text_area("Reason (required, goes in the audit log)", key=key, placeholder="Ticket #, what and why")


def open_dialog(name: str) -> None:
    st.session_state["merchant_dialog"] = name


def close_dialog() -> None:
    st.session_state.pop("merchant_dialog", None)


def run_action(fn, *args, **kwargs) -> None:
    """Call a core action, close the dialog, and show its outcome on the next run."""
    close_dialog()
    try:
        result = act(fn, *args, **kwargs)
        st.session_state["merchant_flash"] = ("ok", result.message, result.url)
    except (ActionFailed, PermissionDenied) as exc:
        st.session_state["merchant_flash"] = ("error", str(exc), None)
    st.rerun()


@st.dialog("Create a login link", on_dismiss=close_dialog)
def login_link_dialog(account_id: str) -> None:
    st.write(f"Creates a single-use link into the Express Dashboard of {md_code(account_id)}. Send it to the merchant; "
             "do not open it yourself.")
    reason = reason_box("reason_login")
    if st.button("Create login link", type="primary"):
        run_action(actions.create_login_link, actor, account_id, reason)


@st.dialog("Create an onboarding or update link", on_dismiss=close_dialog)
def account_link_dialog(account_id: str, account_type: str) -> None:
    options = ["account_onboarding"] + (["account_update"] if account_type != "standard" else [])
    link_type = st.radio("Link", options, format_func=actions.LINK_TYPES.get, horizontal=True)
    st.write(f"Creates a link for {md_code(account_id)} to {actions.LINK_TYPES[link_type].lower()}; it expires in minutes "
             "and works once.")
    reason = reason_box("reason_link")
    if st.button("Create link", type="primary"):
        run_action(actions.create_account_link, actor, account_id, link_type, reason, RETURN_URL, RETURN_URL)


@st.dialog("Refund a charge", width="large", on_dismiss=close_dialog)
def refund_dialog(charges: list[dict]) -> None:
    refundable = [c for c in charges if c["status"] == "succeeded" and c["amount_refunded"] < c["amount"]]
    if not refundable:
        st.info("No recent charge of this merchant can be refunded.")
        return
    labels = {c["id"]: f"{c['id']} · {format_amount(c['amount'] - c['amount_refunded'], c['currency'])} refundable · "
                       f"{c['created']:%Y-%m-%d}" for c in refundable}
    charge_id = st.selectbox("Charge", list(labels), format_func=labels.get)
    amount = st.text_input("Amount in major units (empty: everything refundable)", key="refund_amount")
    chosen = next(c for c in refundable if c["id"] == charge_id)
    fee = st.checkbox("Refund the application fee too", value=False,
                      disabled=not chosen["application_fee_amount"])
    reverse = st.checkbox("Reverse the transfer (take it back from the merchant)", value=chosen["flow"] == "destination",
                          disabled=chosen["flow"] != "destination")
    refund_reason = st.selectbox("Reason sent to Stripe", [None, *actions.REFUND_REASONS],
                                 format_func=lambda r: r or "none")
    try:
        plan = act(actions.plan_refund, charge_id, amount or None, fee, reverse)
    except ActionFailed as exc:
        st.error(md(exc))  # may quote the amount as typed
        return
    st.info(plan.describe(), icon=":material/info:")
    reason = reason_box("reason_refund")
    if st.button(f"Refund {format_amount(plan.amount, plan.currency)}", type="primary"):
        run_action(actions.refund_charge, actor, plan, refund_reason, reason)


@st.dialog("Change the payout schedule", on_dismiss=close_dialog)
def schedule_dialog(account_id: str, current: dict) -> None:
    st.write(f"Current: **{md(current.get('interval', '?'))}**, {md(current.get('delay_days', '?'))} days delay.")
    interval = st.selectbox("Interval", actions.PAYOUT_INTERVALS,
                            index=actions.PAYOUT_INTERVALS.index(current.get("interval", "daily")))
    delay = st.number_input("Delay days", min_value=2, max_value=365, value=int(current.get("delay_days") or 2))
    weekly = st.selectbox("Weekday", actions.WEEKDAYS) if interval == "weekly" else None
    monthly = st.number_input("Day of month", 1, 31, 1) if interval == "monthly" else None
    reason = reason_box("reason_schedule")
    if st.button("Change schedule", type="primary"):
        run_action(actions.set_payout_schedule, actor, account_id, interval, int(delay), reason,
                   weekly_anchor=weekly, monthly_anchor=int(monthly) if monthly else None)


def show_actions(profile: merchant.Profile, charges: list[dict]) -> None:
    """Buttons open a dialog (kept open across reruns until it acts or is dismissed)."""
    cols = st.columns(4)
    cols[0].button("Login link", on_click=open_dialog, args=("login_link",), help="Express accounts only",
                   disabled=profile.type != "express" or not allowed(actor, "action:login_link"))
    cols[1].button("Onboarding / update link", on_click=open_dialog, args=("account_link",),
                   disabled=not allowed(actor, "action:account_link"))
    cols[2].button("Refund a charge", on_click=open_dialog, args=("refund",),
                   disabled=not allowed(actor, "action:refund"))
    cols[3].button("Payout schedule", on_click=open_dialog, args=("payout_schedule",),
                   help="Standard accounts manage their own schedule",
                   disabled=profile.type == "standard" or not allowed(actor, "action:payout_schedule"))
    dialogs = {"login_link": lambda: login_link_dialog(profile.id),
               "account_link": lambda: account_link_dialog(profile.id, profile.type),
               "refund": lambda: refund_dialog(charges),
               "payout_schedule": lambda: schedule_dialog(profile.id, profile.payout_schedule)}
    which = st.session_state.get("merchant_dialog")
    if which in dialogs:
        dialogs[which]()


def show_profile(profile: merchant.Profile) -> None:
    # The merchant writes its own name: shown as text, cut to fit a header, in full below when cut.
    st.subheader(md(profile.name or profile.id, NAME_LIMIT))
    if len(visible(profile.name)) > NAME_LIMIT:
        st.text(visible(profile.name))
    st.badge(LABELS[profile.status], color=STATUS_COLORS[profile.status])
    st.caption(f"{md_code(profile.id)} · {md(profile.type)} · {md(profile.country)} · "
               f"{md(profile.default_currency.upper())} · {md(profile.email) if profile.email else 'no email'} · "
               f"created {profile.created:%Y-%m-%d}")
    if profile.disconnected_at:
        st.warning(f"Disconnected from the platform on {profile.disconnected_at:%Y-%m-%d %H:%M} UTC: what you see "
                   "is how it was then, and it is no longer synced. Actions on it will be refused by Stripe.",
                   icon=":material/link_off:")
    if profile.disabled_reason_text:
        st.warning(md(profile.disabled_reason_text), icon=":material/block:")
    left, right = st.columns(2)
    with left:
        st.markdown("**Requirements**")
        if not profile.requirements:
            st.caption("Nothing due.")
        for req in profile.requirements:
            due = f" (deadline {req.deadline:%Y-%m-%d})" if req.deadline else ""
            st.markdown(f"- {URGENCY[req.urgency]}: {md_code(req.field)}{due}")
        st.markdown("**Capabilities**: " + ", ".join(f"{md(k)} {md(v)}" for k, v in profile.capabilities.items()))
        schedule = profile.payout_schedule
        st.markdown(f"**Payouts**: {md(schedule.get('interval', '?'))}, {md(schedule.get('delay_days', '?'))} days delay · "
                    f"payouts {'enabled' if profile.payouts_enabled else 'paused'} · "
                    f"charges {'enabled' if profile.charges_enabled else 'disabled'}")
        if profile.metadata:
            st.markdown("**Metadata**: " + ", ".join(f"{md_code(k)} = {md(v)}" for k, v in profile.metadata.items()))
    with right:
        st.markdown("**Balance**")
        rows = query(merchant.balances, profile.id)
        for row in rows:
            st.markdown(f"{row['currency'].upper()}: available **{format_amount(row['available'], row['currency'])}**, "
                        f"pending {format_amount(row['pending'], row['currency'])}")
        if not rows:
            st.caption("No balance activity.")
        for bank in profile.bank_accounts:
            st.caption(f"Bank {md(bank.get('bank_name'))} ····{md(bank.get('last4'))} · "
                       f"fingerprint {md_code(bank.get('fingerprint'))}")


def show_merchant(account_id: str) -> None:
    profile = query(merchant.profile, account_id)
    if profile is None:
        st.error(f"No connected account {md_code(account_id, NAME_LIMIT)} in the synced data. Check the id, or sync now from the "
                 "overview if it was created in the last minutes.")
        return
    show_profile(profile)
    charges = query(merchant.charges, account_id)
    show_actions(profile, charges)
    tabs = st.tabs(["Charges", "Payouts", "Ledger", "Transfers", "Disputes", "Application fees", "Same bank account",
                    "Notes", "Actions taken"])
    money = ("amount", "amount_refunded", "application_fee_amount", "amount_reversed", "fee", "net", "balance_after")
    with tabs[0]:
        st.dataframe(with_money(charges, money), hide_index=True, width="stretch")
    with tabs[1]:
        payouts = query(merchant.payouts, account_id)
        for failed in [p for p in payouts if p["status"] == "failed"][:3]:
            st.error(f"Payout {md_code(failed['id'])} of {format_amount(failed['amount'], failed['currency'])} failed: "
                     f"{md(failed['failure_message'] or failed['failure_code'])}")
        st.dataframe(with_money(payouts, money), hide_index=True, width="stretch")
    with tabs[2]:
        st.caption("Every balance movement, newest first, with the balance right after it.")
        st.dataframe(with_money(query(merchant.ledger, account_id), money), hide_index=True, width="stretch")
    with tabs[3]:
        st.dataframe(with_money(query(merchant.transfers, account_id), money), hide_index=True, width="stretch")
    with tabs[4]:
        st.dataframe(with_money(query(merchant.disputes, account_id), money), hide_index=True, width="stretch")
    with tabs[5]:
        st.dataframe(with_money(query(merchant.application_fees, account_id), money), hide_index=True, width="stretch")
    with tabs[6]:
        shared = query(merchant.shared_bank_accounts, account_id)
        if shared:
            st.warning(f"{len(shared)} other merchant(s) pay out to the same bank account.")
            names = ("business_name", "email")  # a cell shows text, but bidi overrides would still reorder it
            st.dataframe([{k: visible(v) if k in names and v is not None else v for k, v in row.items()}
                          for row in shared], hide_index=True, width="stretch")
        else:
            st.caption("No other merchant uses this bank account.")
    with tabs[7]:
        show_notes(account_id)
    with tabs[8]:
        rows = query(audit.entries_for_account, account_id)
        st.dataframe(rows, hide_index=True, width="stretch") if rows else st.caption("No action taken yet.")


def show_notes(account_id: str) -> None:
    if allowed(actor, "action:note"):
        with st.form("note", clear_on_submit=True):
            body = st.text_area("Add an internal note (never sent to Stripe)")
            if st.form_submit_button("Add note"):
                try:
                    act(actions.add_note, actor, account_id, body)
                except ActionFailed as exc:
                    st.error(md(exc))
    for note in query(audit.notes, account_id):  # a note is text, never markup: its body goes in a text element
        st.markdown(f"**{md(note.author_email)}** · {note.created_at:%Y-%m-%d %H:%M} UTC")
        st.text("\n".join(visible(line) for line in note.body.splitlines()))


def _step_page(step: int, pages: int) -> None:
    st.session_state["accounts_page"] = min(max(1, st.session_state.get("accounts_page", 1) + step), pages)


def show_accounts_list() -> None:
    """No search yet: the connected accounts as the Stripe Dashboard lists them. The view lives in the URL
    (shareable); widgets start from it and write it back. One click on a row opens the merchant."""
    url = accounts.AccountFilters.from_query_params(st.query_params)
    start = {"accounts_status": list(url.status), "accounts_country": list(url.country),
             "accounts_type": list(url.type), "accounts_requirements": list(url.requirements),
             "accounts_failed_payouts": url.failed_payouts, "accounts_open_disputes": url.open_disputes,
             "accounts_negative_balance": url.negative_balance, "accounts_meta_key": url.metadata_key or "",
             "accounts_meta_value": url.metadata_value or "", "accounts_period": url.period_days,
             "accounts_sort": url.sort, "accounts_desc": url.descending, "accounts_page_size": url.page_size,
             "accounts_page": url.page}
    for key, value in start.items():
        if key not in st.session_state:
            st.session_state[key] = value

    st.subheader("Connected accounts")
    cols = st.columns(4)
    cols[0].multiselect("Status", accounts.STATUSES, format_func=LABELS.get, key="accounts_status")
    countries = sorted({*query(accounts.countries), *st.session_state["accounts_country"]})
    cols[1].multiselect("Country", countries, key="accounts_country")
    cols[2].multiselect("Type", accounts.TYPES, key="accounts_type")
    cols[3].multiselect("Requirements", accounts.REQUIREMENT_STATES, format_func=accounts.REQUIREMENT_LABELS.get,
                        key="accounts_requirements")
    cols = st.columns(4)
    cols[0].checkbox("Has failed payouts", key="accounts_failed_payouts")
    cols[0].checkbox("Has open disputes", key="accounts_open_disputes")
    cols[0].checkbox("Negative balance", key="accounts_negative_balance")
    cols[1].text_input("Metadata key", key="accounts_meta_key", max_chars=accounts.MAX_METADATA_KEY)
    cols[1].text_input("Metadata value", key="accounts_meta_value", max_chars=accounts.MAX_METADATA_VALUE,
                       help="Exact value; leave empty for any account that has the key")
    cols[2].selectbox("Volume over", accounts.PERIODS, format_func=lambda d: f"the last {d} days",
                      key="accounts_period")
    cols[2].selectbox("Rows per page", accounts.PAGE_SIZES, key="accounts_page_size")
    cols[3].selectbox("Sort by", list(accounts.SORTS), format_func=accounts.SORT_LABELS.get, key="accounts_sort",
                      help="Money sorts by currency, then amount: different currencies are never compared")
    cols[3].toggle("Descending", key="accounts_desc")

    state = st.session_state
    view = accounts.AccountFilters(
        status=tuple(state["accounts_status"]), country=tuple(state["accounts_country"]),
        type=tuple(state["accounts_type"]), requirements=tuple(state["accounts_requirements"]),
        failed_payouts=state["accounts_failed_payouts"], open_disputes=state["accounts_open_disputes"],
        negative_balance=state["accounts_negative_balance"], metadata_key=state["accounts_meta_key"],
        metadata_value=state["accounts_meta_value"], period_days=state["accounts_period"], sort=state["accounts_sort"],
        descending=state["accounts_desc"], page_size=state["accounts_page_size"])
    if state.get("accounts_view") not in (None, view):  # other filters: back to the first page
        state["accounts_page"] = 1
    state["accounts_view"] = view
    page = query(accounts.accounts_page, view.model_copy(update={"page": int(state["accounts_page"])}))
    state["accounts_page"] = page.page
    filters = view.model_copy(update={"page": page.page})
    wanted = filters.to_query_params()
    for key in accounts.QUERY_KEYS:
        if key in wanted and st.query_params.get(key) != wanted[key]:
            st.query_params[key] = wanted[key]
        elif key not in wanted and key in st.query_params:
            del st.query_params[key]

    st.caption(f"{page.total:,} accounts · page {page.page} of {page.pages} · volume = succeeded charges of the "
               f"last {page.period_days} days, per currency")
    if not page.rows:
        filtered = any(k in wanted for k in ("status", "country", "type", "requirements", "failed_payouts",
                                             "open_disputes", "negative_balance", "meta_key"))
        st.info("No connected account matches these filters." if filtered else "No connected accounts yet.",
                icon=":material/filter_alt_off:")
        return
    table = st.dataframe(
        accounts.table_rows(page.rows), key="accounts_table", on_select="rerun", selection_mode="single-row",
        hide_index=True, width="stretch",
        column_config={
            "status": st.column_config.MultiselectColumn(
                "Status", options=[LABELS[s] for s in accounts.STATUSES],
                color=[STATUS_COLORS[s] for s in accounts.STATUSES]),
            "business_name": "Business name", "id": "Account", "country": "Country", "type": "Type",
            "balance": "Balance", "volume": f"Volume ({page.period_days} d)",
            "requirements_due": "Requirements due",
            "deadline": st.column_config.DatetimeColumn("Deadline", format="YYYY-MM-DD"),
            "failed_payouts": "Failed payouts", "open_disputes": "Open disputes",
            "last_charge": st.column_config.DatetimeColumn("Last charge", format="YYYY-MM-DD HH:mm"),
            "created": st.column_config.DatetimeColumn("Created", format="YYYY-MM-DD")})
    if table.selection.rows:
        open_account(page.rows[table.selection.rows[0]].id)
        st.rerun()
    cols = st.columns([1, 1, 1, 3])
    cols[0].button("Previous", key="accounts_prev", icon=":material/chevron_left:", on_click=_step_page,
                   args=(-1, page.pages), disabled=page.page <= 1)
    cols[1].number_input("Page", min_value=1, max_value=page.pages, step=1, key="accounts_page",
                         label_visibility="collapsed")
    cols[2].button("Next", key="accounts_next", icon=":material/chevron_right:", on_click=_step_page,
                   args=(1, page.pages), disabled=page.page >= page.pages)
    store = runtime.store
    cols[3].download_button(  # built on click only: every filtered account, not just this page
        f"Export {page.total:,} accounts as CSV", lambda: accounts.export_csv(store.cursor(), filters),
        file_name="connect-ops-accounts.csv", mime="text/csv", icon=":material/download:", on_click="ignore",
        key="accounts_csv")


show_flash()
selected = st.query_params.get("account")
if selected:
    if st.button("← Search", type="tertiary"):
        del st.query_params["account"]
        close_dialog()
        st.rerun()
    show_merchant(selected)
else:
    show_search()
    if not st.session_state.get("merchant_query"):
        show_accounts_list()
