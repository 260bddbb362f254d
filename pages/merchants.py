"""Merchants: find one from anything an agent is handed, see it whole, act safely."""
from __future__ import annotations

import streamlit as st

from core import audit
from core.support import actions, lookup, merchant
from core.account_status import LABELS
from core.actions import ActionFailed
from core.auth import PermissionDenied, allowed
from core.money import format_amount, with_money
from core.app.st_runtime import act, page_header, query

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
        st.caption(note)
    if not result.matches:
        st.warning(f"No merchant matches “{text}”.", icon=":material/search_off:")
        return
    for match in result.matches:
        cols = st.columns([4, 3, 1])
        cols[0].markdown(f"**{match.business_name or match.account_id}** · `{match.account_id}`  \n"
                         f"{match.email or ''} · {match.country or ''} · {match.type or ''}")
        via = f" via `{match.via_object_id}`" if match.via_object_id else ""
        cols[1].caption(f"matched {match.matched_field}: {match.matched_value}{via}")
        cols[2].button("Open", key=f"open_{match.account_id}", on_click=open_account, args=(match.account_id,),
                       disabled=not match.in_mirror)


def show_flash() -> None:
    flash = st.session_state.pop("merchant_flash", None)
    if flash:
        kind, text, url = flash
        (st.success if kind == "ok" else st.error)(text)
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
    st.write(f"Creates a single-use link into the Express Dashboard of `{account_id}`. Send it to the merchant; "
             "do not open it yourself.")
    reason = reason_box("reason_login")
    if st.button("Create login link", type="primary"):
        run_action(actions.create_login_link, actor, account_id, reason)


@st.dialog("Create an onboarding or update link", on_dismiss=close_dialog)
def account_link_dialog(account_id: str, account_type: str) -> None:
    options = ["account_onboarding"] + (["account_update"] if account_type != "standard" else [])
    link_type = st.radio("Link", options, format_func=actions.LINK_TYPES.get, horizontal=True)
    st.write(f"Creates a link for `{account_id}` to {actions.LINK_TYPES[link_type].lower()}; it expires in minutes "
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
        st.error(str(exc))
        return
    st.info(plan.describe(), icon=":material/info:")
    reason = reason_box("reason_refund")
    if st.button(f"Refund {format_amount(plan.amount, plan.currency)}", type="primary"):
        run_action(actions.refund_charge, actor, plan, refund_reason, reason)


@st.dialog("Change the payout schedule", on_dismiss=close_dialog)
def schedule_dialog(account_id: str, current: dict) -> None:
    st.write(f"Current: **{current.get('interval', '?')}**, {current.get('delay_days', '?')} days delay.")
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
    st.subheader(profile.name or profile.id)
    st.badge(LABELS[profile.status], color=STATUS_COLORS[profile.status])
    st.caption(f"`{profile.id}` · {profile.type} · {profile.country} · {profile.default_currency.upper()} · "
               f"{profile.email or 'no email'} · created {profile.created:%Y-%m-%d}")
    if profile.disabled_reason_text:
        st.warning(profile.disabled_reason_text, icon=":material/block:")
    left, right = st.columns(2)
    with left:
        st.markdown("**Requirements**")
        if not profile.requirements:
            st.caption("Nothing due.")
        for req in profile.requirements:
            due = f" (deadline {req.deadline:%Y-%m-%d})" if req.deadline else ""
            st.markdown(f"- {URGENCY[req.urgency]}: `{req.field}`{due}")
        st.markdown("**Capabilities**: " + ", ".join(f"{k} {v}" for k, v in profile.capabilities.items()))
        schedule = profile.payout_schedule
        st.markdown(f"**Payouts**: {schedule.get('interval', '?')}, {schedule.get('delay_days', '?')} days delay · "
                    f"payouts {'enabled' if profile.payouts_enabled else 'paused'} · "
                    f"charges {'enabled' if profile.charges_enabled else 'disabled'}")
        if profile.metadata:
            st.markdown("**Metadata**: " + ", ".join(f"`{k}` = {v}" for k, v in profile.metadata.items()))
    with right:
        st.markdown("**Balance**")
        rows = query(merchant.balances, profile.id)
        for row in rows:
            st.markdown(f"{row['currency'].upper()}: available **{format_amount(row['available'], row['currency'])}**, "
                        f"pending {format_amount(row['pending'], row['currency'])}")
        if not rows:
            st.caption("No balance activity.")
        for bank in profile.bank_accounts:
            st.caption(f"Bank {bank.get('bank_name')} ····{bank.get('last4')} · fingerprint `{bank.get('fingerprint')}`")


def show_merchant(account_id: str) -> None:
    profile = query(merchant.profile, account_id)
    if profile is None:
        st.error(f"No connected account `{account_id}` in the synced data. Check the id, or sync now from the "
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
            st.error(f"Payout {failed['id']} of {format_amount(failed['amount'], failed['currency'])} failed: "
                     f"{failed['failure_message'] or failed['failure_code']}")
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
            st.dataframe(shared, hide_index=True, width="stretch")
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
                    st.error(str(exc))
    for note in query(audit.notes, account_id):
        st.markdown(f"**{note.author_email}** · {note.created_at:%Y-%m-%d %H:%M} UTC  \n{note.body}")


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
