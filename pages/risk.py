"""Risk queue: the accounts that matter today, ranked with their reasons; an account's risk view; the review
and the actions that stop losses (pause payouts, reject, clear). Layout and widgets only: core/risk does the rest."""
from __future__ import annotations

from datetime import timedelta

import streamlit as st

from core import audit, clock
from core.account_status import LABELS
from core.actions import ActionFailed
from core.app.st_runtime import act, page_header, query
from core.app.text import NAME_LIMIT, md, md_code, visible
from core.auth import PermissionDenied, allowed
from core.money import with_money
from core.risk import actions, cases, charts, queue, review, rules
from core.risk.score import SIGNALS, weights_table
from core.support.actions import add_note

STATE_COLORS = {"new": "orange", "in_review": "blue", "cleared": "green", "actioned": "violet"}

runtime, actor = page_header("Risk queue", "risk")


def open_account(account_id: str) -> None:
    st.query_params["account"] = account_id


def close_dialog() -> None:
    st.session_state.pop("risk_dialog", None)
    st.session_state.pop("risk_seen", None)


def open_dialog(name: str, seen: int = 0) -> None:
    """Open a dialog, keeping the review as this person saw it: a change someone else makes meanwhile is refused."""
    st.session_state["risk_dialog"] = name
    st.session_state["risk_seen"] = seen


def run_action(fn, *args, **kwargs) -> None:
    """Call core, close the dialog, show the outcome on the next run (our words, or an error quoting Stripe)."""
    close_dialog()
    try:
        result = act(fn, *args, **kwargs)
        st.session_state["risk_flash"] = ("ok", result if isinstance(result, str) else result.message)
    except (ActionFailed, PermissionDenied) as exc:
        st.session_state["risk_flash"] = ("error", str(exc))
    st.rerun()


def show_flash() -> None:
    flash = st.session_state.pop("risk_flash", None)
    if flash and flash[0] == "ok":
        st.success(md(flash[1]))
    elif flash:
        st.error(md(flash[1]))


def note_box(key: str, label: str = "Note (required, goes with the state and in the audit log)") -> str:
    return st.text_area(label, key=key, placeholder="What you checked, what you decided and why")


# --------------------------------------------------------------------------- the queue


LANE_LABELS = {"case": "Queue (material cases)", "watch": "Watch (something fires, not material)",
               "rejected": "Rejected (exposure left)"}


def show_queue() -> None:
    choices = query(queue.choices)
    top = st.columns([3, 1])
    lane = top[0].segmented_control("List", list(LANE_LABELS), format_func=LANE_LABELS.get, default="case",
                                    key="risk_lane") or "case"
    mine = top[1].toggle("My cases", key="risk_mine", help="Only the reviews assigned to you")
    cols = st.columns(5)
    signals = cols[0].multiselect("Signal", list(SIGNALS), format_func=SIGNALS.get, key="risk_signals")
    country = cols[1].multiselect("Country", choices["country"], key="risk_country")
    kinds = cols[2].multiselect("Type", queue.TYPES, key="risk_type")
    states = cols[3].multiselect("Review state", review.STATES, default=list(review.OPEN_STATES),
                                 format_func=review.STATE_LABELS.get, key="risk_states")
    assignees = cols[4].multiselect("Assignee", sorted({*choices["assignee"], actor.email}), key="risk_assignees")
    filters = queue.QueueFilters(signals=tuple(signals), country=tuple(country), type=tuple(kinds),
                                 review_states=tuple(states), lanes=(lane,),
                                 assignees=(actor.email,) if mine else tuple(assignees))
    page = query(queue.queue, filters)
    st.caption(f"{page.total:,} of {page.accounts:,} accounts · highest score first · scores measured "
               f"{page.measured_at:%Y-%m-%d %H:%M} UTC from the synced data")
    if not page.rows:
        st.info("No account matches these filters.", icon=":material/filter_alt_off:")
        return
    rows = [{**row, "business_name": visible(row["business_name"], NAME_LIMIT)} for row in queue.table_rows(page.rows)]
    table = st.dataframe(
        rows, key="risk_table", on_select="rerun", selection_mode="single-row", hide_index=True, width="stretch",
        column_config={"score": st.column_config.ProgressColumn("Score", min_value=0, max_value=100, format="%d"),
                       "reasons": st.column_config.TextColumn("Top reasons", width="large"),
                       "business_name": "Business name", "account": "Account", "volume_30d": "Volume (30 d)",
                       "dispute_activity": "Dispute activity (worst recent month)", "review": "Review",
                       "assignee": "Assignee", "status": "Status", "country": "Country", "type": "Type",
                       "exposure": "Exposure left", "age": "Case age", "due": "Due"})
    if table.selection.rows:
        open_account(page.rows[table.selection.rows[0]].account)
        st.rerun()
    if page.total > len(page.rows):
        st.caption(f"Showing the first {len(page.rows):,}; the export has all {page.total:,}.")
    if allowed(actor, review.PERMISSION):
        show_bulk(page.rows)
    store = runtime.store
    st.download_button(f"Export {page.total:,} accounts as CSV", key="risk_csv", icon=":material/download:",
                       data=lambda: queue.queue_csv(queue.queue(store.cursor(), filters, limit=None).rows),
                       file_name="connect-ops-risk-queue.csv", mime="text/csv", on_click="ignore")
    with st.expander("How the score works: thresholds, sources and weights"):
        st.caption("Each signal adds its weight times its severity times its evidence. Ratios are scored on how sure "
                   "we are that the true rate is past the line (the lower bound of a 90% confidence interval) and "
                   "fire only from a minimum count; the card networks' lines count on their own terms (Visa on Visa "
                   "online sales, Mastercard on last month's Mastercard sales). The score is the sum, at most 100; "
                   "an account is a case from the queue score or one severe signal, else it is under Watch. "
                   "Lines without a source URL are our policy.")
        st.dataframe(rules.table(), hide_index=True, width="stretch",
                     column_config={"source_url": st.column_config.LinkColumn("Source")})
        st.dataframe(weights_table(), hide_index=True, width="stretch")


def show_bulk(rows: list[queue.QueueRow]) -> None:
    """Assign or clear several accounts with one note: each is its own change, with its own audit row."""
    with st.expander("Bulk: assign or clear several accounts"):
        labels = {r.account: f"{r.account} · {visible(r.business_name or '', 40)} · score {r.score}" for r in rows}
        chosen = st.multiselect("Accounts", list(labels), format_func=labels.get, key="risk_bulk_accounts")
        assignee = st.text_input("Assignee", value=actor.email, key="risk_bulk_assignee")
        until = st.date_input("Clear until", value=None, key="risk_bulk_until")
        note = note_box("risk_bulk_note", "Note (required for clearing; goes with every account's change)")
        seen = {r.account: r for r in rows if r.account in chosen}
        cols = st.columns(2)
        if cols[0].button("Assign", key="risk_bulk_assign", disabled=not chosen):
            bulk_done(act(cases.bulk_assign, actor, {a: r.review_event for a, r in seen.items()}, assignee, note))
        if cols[1].button("Clear", key="risk_bulk_clear", disabled=not chosen or until is None):
            firing = {a: ({f.signal: f.points for f in r.findings}, r.review_event) for a, r in seen.items()}
            bulk_done(act(cases.bulk_clear, actor, firing, until, note))


def bulk_done(outcome: dict[str, str]) -> None:
    failed = {a: m for a, m in outcome.items() if m.startswith("not changed")}
    lines = [f"- {md_code(a)}: {md(m)}" for a, m in outcome.items()]
    st.session_state["risk_flash"] = ("error" if failed else "ok", "\n".join(lines))
    st.rerun()


# --------------------------------------------------------------------------- one account


@st.dialog("Start or assign the review", on_dismiss=close_dialog)
def review_dialog(account_id: str, firing: dict[str, float], seen: int, holder: str | None) -> None:
    assignee = st.text_input("Assignee", value=actor.email, key="risk_assignee")
    note = note_box("risk_review_note", "Note (optional)")
    take_over = bool(holder and holder != actor.email) and st.checkbox(
        f"Take the case over from {holder}", key="risk_take_over")
    if st.button("Take into review", type="primary"):
        run_action(review.start_review, actor, account_id, assignee, note, firing=firing, seen_event=seen,
                   take_over=take_over)


@st.dialog("Clear the account", on_dismiss=close_dialog)
def clear_dialog(account_id: str, firing: dict[str, float], seen: int) -> None:
    st.write("Nothing to act on for now. The account leaves the queue until the date below, and comes back sooner "
             "if a signal fires that is not firing today. Nothing is sent to Stripe.")
    today = clock.today()
    until = st.date_input("Cleared until", value=today + timedelta(days=30), min_value=today + timedelta(days=1),
                          max_value=today + timedelta(days=actions.MAX_CLEAR_DAYS), key="risk_clear_until")
    note = note_box("risk_clear_note")
    if st.button("Clear", type="primary"):
        run_action(actions.clear, actor, account_id, until, note, firing, seen_event=seen)


@st.dialog("Pause payouts", on_dismiss=close_dialog)
def pause_dialog(account_id: str) -> None:
    try:
        plan = act(actions.plan_pause, account_id, actor)
    except (ActionFailed, PermissionDenied) as exc:
        st.error(md(exc))
        return
    st.info(plan.describe(), icon=":material/pause_circle:")
    reason = note_box("risk_pause_reason", "Reason (required, goes in the audit log)")
    cancel = bool(plan.pending) and st.checkbox(f"Also cancel the {len(plan.pending)} pending payout(s)",
                                                key="risk_pause_cancel")
    if st.button("Pause now", type="primary"):
        run_action(actions.pause_payouts, actor, plan, reason, cancel_pending=cancel)


@st.dialog("Resume payouts", on_dismiss=close_dialog)
def resume_dialog(account_id: str, pause: dict, seen: int) -> None:
    st.info(f"Paused {pause['paused_at']:%Y-%m-%d %H:%M} UTC by {md(pause['paused_by'])} with "
            f"{actions.PAUSE_METHOD_WORDS[pause['method']]}; resuming undoes it the same way.", icon=":material/info:")
    reason = note_box("risk_resume_reason", "Reason (required, goes in the audit log)")
    if st.button("Resume now", type="primary"):
        run_action(actions.resume_payouts, actor, account_id, reason, seen_event=seen)


@st.dialog("Reject the account", on_dismiss=close_dialog)
def reject_dialog(account_id: str, seen: int) -> None:
    version = act(actions.api_version)
    choice = st.selectbox(f"Reason sent to Stripe (API version {version})", actions.reject_reasons(version),
                          format_func=lambda r: actions.REJECT_LABELS.get(r, r), key="risk_reject_reason")
    st.warning(actions.REJECT_EFFECT, icon=":material/block:")
    reason = note_box("risk_reject_note", "Reason (required, goes in the audit log)")
    if st.button("Reject account", type="primary"):
        run_action(actions.reject_account, actor, account_id, choice, reason, seen_event=seen)


@st.dialog("Unreject the account", on_dismiss=close_dialog)
def unreject_dialog(account_id: str, seen: int) -> None:
    st.info("Reverses the platform's own rejection: Stripe re-enables the charges and payouts the rejection "
            "disabled (other restrictions stay). The account goes back into review.", icon=":material/undo:")
    reason = note_box("risk_unreject_note", "Reason (required, goes in the audit log)")
    if st.button("Unreject account", type="primary"):
        run_action(actions.unreject_account, actor, account_id, reason, seen_event=seen)


def show_controls(risk: queue.AccountRisk) -> None:
    account_id, kind = risk.metrics.id, risk.metrics.type
    firing = queue.points(risk.assessment)
    state = risk.effective.state
    seen = risk.stored_review.last_event  # what this person saw: the same click sent twice acts once
    may_review = allowed(actor, review.PERMISSION)
    standard = "Standard accounts carry their own losses" if kind == "standard" else None
    cols = st.columns(4)
    cols[0].button("Start review" if state != "in_review" else "Reassign", on_click=open_dialog,
                   args=("review", seen),
                   disabled=not may_review, key="risk_btn_review")
    cols[1].button("Clear…", on_click=open_dialog, args=("clear", seen), key="risk_btn_clear",
                   disabled=not may_review or state != "in_review", help="Start the review first")
    if risk.payout_pause:
        cols[2].button("Resume payouts", on_click=open_dialog, args=("resume", seen), key="risk_btn_resume",
                       disabled=not allowed(actor, "action:pause_payouts"))
    else:
        cols[2].button("Pause payouts", on_click=open_dialog, args=("pause", seen), key="risk_btn_pause",
                       help=standard,
                       disabled=bool(standard) or not allowed(actor, "action:pause_payouts"))
    version = act(actions.api_version)
    if risk.metrics.status == "rejected" and actions.can_unreject(version, risk.metrics.disabled_reason):
        cols[3].button("Unreject…", on_click=open_dialog, args=("unreject", seen), key="risk_btn_unreject",
                       disabled=not allowed(actor, "action:reject_account"),
                       help=f"API version {version} can reverse the platform's own rejections")
    else:
        refused = standard or risk.reject_refused
        cols[3].button("Reject…", on_click=open_dialog, args=("reject", seen), key="risk_btn_reject", help=refused,
                       disabled=bool(refused) or risk.metrics.status == "rejected"
                       or not allowed(actor, "action:reject_account"))
    seen = st.session_state.get("risk_seen", seen)  # as it was when the dialog opened
    holder = risk.stored_review.assignee if state == "in_review" else None
    dialogs = {"review": lambda: review_dialog(account_id, firing, seen, holder),
               "clear": lambda: clear_dialog(account_id, firing, seen),
               "pause": lambda: pause_dialog(account_id), "reject": lambda: reject_dialog(account_id, seen),
               "resume": lambda: resume_dialog(account_id, risk.payout_pause or {}, seen),
               "unreject": lambda: unreject_dialog(account_id, seen)}
    which = st.session_state.get("risk_dialog")
    if which in dialogs:
        dialogs[which]()


def show_header(risk: queue.AccountRisk) -> None:
    m, state = risk.metrics, risk.effective.state
    st.subheader(md(m.business_name or m.id, NAME_LIMIT))  # the merchant writes its own name: text, never markup
    cols = st.columns([1, 1, 4])
    cols[0].metric("Score", risk.assessment.score)
    cols[1].badge(review.STATE_LABELS[state], color=STATE_COLORS[state])
    cols[1].badge(LABELS.get(m.status, m.status))
    cols[2].caption(f"{md_code(m.id)} · {md(m.type)} · {md(m.country)} · created {m.created:%Y-%m-%d}"
                    + (f" · assigned to {md(risk.stored_review.assignee)}" if risk.stored_review.assignee
                       and state == risk.stored_review.state else "")
                    + (f" · cleared until {risk.stored_review.cleared_until:%Y-%m-%d %H:%M} UTC" if state == "cleared"
                       else ""))
    if allowed(actor, "page:merchants"):
        cols[2].page_link("pages/merchants.py", label="Open the merchant page", icon=":material/storefront:",
                          query_params={"account": m.id})
    if risk.effective.why:
        st.warning(f"Back in the queue: {md(risk.effective.why)}", icon=":material/replay:")
    if risk.payout_pause:
        st.info(f"Payouts paused by Connect Ops with {actions.PAUSE_METHOD_WORDS[risk.payout_pause['method']]}.",
                icon=":material/pause_circle:")
    if m.status == "rejected" or risk.exposure:
        st.caption(f"Exposure left: {md(risk.exposure or 'nothing (no balance, open dispute or pending refund)')}")
    for finding in risk.assessment.findings:
        st.markdown(f"- **+{finding.points:g}** {md(finding.reason)}")
    if not risk.assessment.findings:
        st.caption("No signal fires for this account.")


def show_history(account_id: str, risk: queue.AccountRisk) -> None:
    if allowed(actor, "action:note"):
        with st.form("risk_note", clear_on_submit=True):
            body = st.text_area("Add an internal note (never sent to Stripe)")
            if st.form_submit_button("Add note"):
                try:
                    act(add_note, actor, account_id, body)
                    st.rerun()
                except ActionFailed as exc:
                    st.error(md(exc))
    st.markdown("**Decisions**")
    if risk.history:  # notes are typed by people: shown in a table (text), invisible characters made visible
        st.dataframe([{**e.model_dump(exclude={"account_id"}), "note": visible(e.note) if e.note else None}
                      for e in risk.history], hide_index=True, width="stretch")
    else:
        st.caption("Never reviewed.")
    st.markdown("**Notes**")
    for note in risk.notes:
        st.markdown(f"**{md(note.author_email)}** · {note.created_at:%Y-%m-%d %H:%M} UTC")
        st.text("\n".join(visible(line) for line in note.body.splitlines()))
    if not risk.notes:
        st.caption("No notes.")
    links = cases.evidence_links([n.body for n in risk.notes] + [e.note for e in risk.history])
    if links:  # links people wrote: shown as links whose text is the URL itself, only http(s)
        st.dataframe([{"evidence": url} for url in links], hide_index=True, width="stretch",
                     column_config={"evidence": st.column_config.LinkColumn("Evidence links in notes")})


def show_account(account_id: str) -> None:
    risk = query(queue.account_risk, account_id)
    if risk is None:
        st.error(f"No connected account {md_code(account_id, NAME_LIMIT)} in the synced data.")
        return
    show_header(risk)
    show_controls(risk)
    left, right = st.columns(2)
    left.plotly_chart(charts.volume_figure(risk.months), width="stretch", config={"displayModeBar": False})
    right.plotly_chart(charts.disputes_figure(risk.months), width="stretch", config={"displayModeBar": False})
    tabs = st.tabs(["Disputes", "Refunds", "Linked accounts", "Notes and decisions", "Actions taken"])
    for tab, rows, empty in ((tabs[0], risk.disputes, "No disputes."), (tabs[1], risk.refunds, "No refunds.")):
        with tab:
            if rows:
                st.dataframe(with_money(rows), hide_index=True, width="stretch")
            else:
                st.caption(empty)
    with tabs[2]:
        if risk.linked:
            st.warning(f"{len(risk.linked)} other account(s) pay out to the same bank account.")
            st.dataframe([{**row, "business_name": visible(row["business_name"]), "email": visible(row["email"])}
                          for row in risk.linked], hide_index=True, width="stretch")
        else:
            st.caption("No other account uses its bank accounts.")
    with tabs[3]:
        show_history(account_id, risk)
    with tabs[4]:
        taken = query(audit.entries_for_account, account_id)
        if taken:
            st.dataframe(taken, hide_index=True, width="stretch")
        else:
            st.caption("No action taken yet.")


show_flash()
selected = st.query_params.get("account")
if selected:
    if st.button("← Queue", type="tertiary"):
        del st.query_params["account"]
        close_dialog()
        st.rerun()
    show_account(selected)
else:
    show_queue()
