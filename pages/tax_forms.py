"""Tax forms: each US connected account's 1099-K or 1099-NEC for a year, previewed, checked and exported."""
from __future__ import annotations


import plotly.graph_objects as go
import streamlit as st

from core import clock
from core.actions import ActionFailed
from core.app.st_runtime import act, page_header, query
from core.app.text import NAME_LIMIT, md, visible
from core.auth import PermissionDenied, allowed
from core.tax import computation, export, overrides, readiness
from core.tax.rules import FORM_LABELS, rule_rows

STATUS_COLORS = {"Ready": "#2e7d32", "Needs attention": "#ed6c02", "Will not file": "#9e9e9e",
                 readiness.FILED_BY_STRIPE: "#1976d2"}

runtime, actor = page_header("Tax forms", "tax_forms")
settings = runtime.settings
empty = runtime.no_data_text()
if empty:
    st.info(empty, icon=":material/hourglass_empty:")
    st.stop()

years = query(computation.tax_years) or [clock.today().year]
cols = st.columns([1, 2, 3])
year = cols[0].selectbox("Tax year", years, key="tax_year")
methods = list(computation.METHODS)
method = cols[1].selectbox("Calculation method", methods, format_func=computation.METHODS.get, key="tax_method",
                           index=methods.index(settings.connect_ops_tax_calculation_method),
                           help="Stripe's three methods; the platform's default is CONNECT_OPS_TAX_CALCULATION_METHOD")
cols[2].caption(f"Default form: **{FORM_LABELS[settings.connect_ops_tax_form_type]}** "
                "(CONNECT_OPS_TAX_FORM_TYPE), overridable per account below. Year and month by the `available_on` of "
                f"each payment's balance transaction, in UTC. {computation.CONVERSION_NOTE}")
report = query(readiness.tax_year_report, year, method, settings.connect_ops_tax_form_type)
summary = readiness.summarize(report)
if report.rules.note:
    st.warning(report.rules.note, icon=":material/gavel:")


def summary_section() -> None:
    """Forms by type and status, totals, what blocks filing, and accounts by status as a chart."""
    left, right = st.columns([3, 2])
    with left:
        to_file = summary.accounts_by_status["Ready"] + summary.accounts_by_status["Needs attention"]
        metrics = st.columns(4)
        metrics[0].metric("Forms to file", f"{to_file:,}")
        metrics[1].metric("Ready", f"{summary.accounts_by_status['Ready']:,}")
        metrics[2].metric("Blocked", f"{summary.blocked:,}", help="Needs attention: the form must be filed but "
                          "the payee's details are incomplete")
        metrics[3].metric(readiness.FILED_BY_STRIPE, f"{len(report.filed_by_stripe):,}",
                          help="controller.fees.payer is `account`: Stripe issues these accounts' 1099 itself")
        st.caption("Blocked by: " + " · ".join(f"{reason} {n:,}" for reason, n in summary.blocked_by_reason.items()))
        rows = [{"form": form, **counts, "gross to file (USD)": export.dollars(summary.totals_to_file.get(form, 0))}
                for form, counts in summary.by_type_and_status.items()]
        st.dataframe(rows, hide_index=True, width="stretch")
    with right:
        labels = list(summary.accounts_by_status)
        figure = go.Figure(go.Bar(x=labels, y=[summary.accounts_by_status[s] for s in labels],
                                  marker_color=[STATUS_COLORS[s] for s in labels]))
        figure.update_layout(title=f"Accounts by status, {year}", height=280, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                             yaxis_title="accounts")
        st.plotly_chart(figure, width="stretch", config={"displayModeBar": False})


def filtered_forms() -> list[readiness.TaxForm]:
    """The table's filters: status, form, state, what is missing, and an id or name."""
    cols = st.columns([2, 1, 2, 2, 3])
    statuses = cols[0].multiselect("Status", readiness.STATUSES, key="tax_status")
    forms = cols[1].multiselect("Form", list(FORM_LABELS), format_func=FORM_LABELS.get, key="tax_form")
    states = cols[2].multiselect("State", sorted({f.state for f in report.forms if f.state}), key="tax_state")
    reasons = cols[3].multiselect("Missing", (readiness.ADDRESS, readiness.BUSINESS_NAME, readiness.TIN_MISSING),
                                  key="tax_missing")
    text = cols[4].text_input("Account id or name", key="tax_text").strip().lower()
    return [f for f in report.forms
            if (not statuses or f.status in statuses) and (not forms or f.form_type in forms)
            and (not states or f.state in states) and (not reasons or set(reasons) & set(f.missing))
            and (not text or text in f.stripe_account_id.lower() or text in (f.display_name or "").lower())]


def table_section(forms: list[readiness.TaxForm]) -> None:
    st.write(f"{len(forms):,} of {len(report.forms):,} forms")
    st.dataframe([export.table_row(f) for f in forms], hide_index=True, width="stretch")
    st.download_button("Download this table (CSV)", export.table_csv(forms), icon=":material/download:",
                       file_name=f"tax-forms-{year}-table.csv", mime="text/csv", disabled=not forms)
    unconverted = [f for f in forms if f.unconverted]
    if unconverted:
        st.warning(f"{len(unconverted):,} forms have amounts that did not settle in USD and are left out of the "
                   "boxes (column not_converted).", icon=":material/currency_exchange:")


def account_section(forms: list[readiness.TaxForm]) -> None:
    """One account's transaction log: every box is a sum over its rows."""
    if not forms:
        st.caption("No form matches the filters.")
        return
    by_id = {f.stripe_account_id: f for f in forms}
    account_id = st.selectbox("Account", list(by_id), key="tax_account", format_func=lambda a: (
        f"{a} · {visible(by_id[a].display_name or by_id[a].payee.name or '', NAME_LIMIT)}"))
    form = by_id[account_id]
    log = query(computation.transaction_log, account_id, year, method)
    boxes = computation.totals_of(log)
    st.caption(f"{md(FORM_LABELS[form.form_type])} · {md(form.status)} · federal: {md(form.federal_rule)} · "
               f"state: {md(form.state_rule)} · TIN: {md(readiness.TIN_WORDS[form.payee.tin])}")
    cols = st.columns(3)
    cols[0].metric("Gross (1a)", f"${export.dollars(boxes.gross_amount)}")
    cols[1].metric("Card not present (1b)", f"${export.dollars(boxes.card_not_present_amount)}")
    cols[2].metric("Payment transactions (3)", f"{boxes.transaction_count:,}")
    st.dataframe([{"month": m.capitalize(), "amount_usd": export.dollars(a)}
                  for m, a in zip(export.MONTHS, boxes.monthly_amounts)], hide_index=True, width="content")
    if (boxes.gross_amount, boxes.transaction_count) != (form.gross_amount, form.transaction_count):
        st.error("The transaction log does not add up to the form: the mirror changed; reload the page.")
    st.dataframe([export.log_row(r) for r in log], hide_index=True, width="stretch")
    st.download_button("Download transaction log (CSV)", export.log_csv(log), icon=":material/download:",
                       file_name=f"tax-{year}-{account_id}-transactions.csv", mime="text/csv")
    if allowed(actor, f"action:{overrides.ACTION}"):
        if flash := st.session_state.pop("tax_flash", None):
            st.success(flash)  # our own words and an account id: no merchant text in it
        override_form(form)


def override_form(form: readiness.TaxForm) -> None:
    """Correct this form's type or filing requirement (stored and audited; exported in the CSV)."""
    with st.expander("Correct this form"), st.form(f"override_{form.stripe_account_id}_{year}"):
        choices = ["default", "k", "nec"]
        current = form.form_type if form.form_type_overridden else "default"
        kind = st.radio("Form type", choices, index=choices.index(current), horizontal=True,
                        format_func=lambda c: f"Platform default ({FORM_LABELS[settings.connect_ops_tax_form_type]})"
                        if c == "default" else FORM_LABELS[c])
        requirement = st.selectbox("Filing requirement", list(overrides.FILING_REQUIREMENTS),
                                   index=list(overrides.FILING_REQUIREMENTS).index(form.filing_requirement),
                                   format_func=lambda r: f"{r}: {overrides.FILING_REQUIREMENTS[r]}")
        reason = st.text_input("Reason (goes in the audit log)")
        if st.form_submit_button("Save correction"):
            try:
                result = act(overrides.set_override, actor, form.stripe_account_id, year,
                             None if kind == "default" else kind, requirement, reason)
            except (ActionFailed, PermissionDenied) as exc:
                st.error(md(exc))
            else:  # the table above was drawn before the change: draw the page again, then say what changed
                st.session_state["tax_flash"] = f"Saved for {form.stripe_account_id}: {result.message}"
                st.rerun()


def export_section() -> None:
    st.caption("Stripe's 1099 import columns, dollars with cents, leading zeros kept; every form of the year "
               "(`filing_requirement` DEFAULT lets Stripe apply the thresholds). Stripe imports each form type "
               "on its own.")
    cols = st.columns(3)
    cols[0].download_button("Every form (CSV)", export.import_csv(report.forms), icon=":material/download:",
                            file_name=f"stripe-1099-import-{year}.csv", mime="text/csv", disabled=not report.forms)
    for col, kind in zip(cols[1:], FORM_LABELS):
        subset = [f for f in report.forms if f.form_type == kind]
        col.download_button(f"{FORM_LABELS[kind]} only ({len(subset):,})", export.import_csv(subset, kind),
                            icon=":material/download:", file_name=f"stripe-{FORM_LABELS[kind]}-import-{year}.csv",
                            mime="text/csv", disabled=not subset, key=f"export_{kind}")


summary_section()
st.subheader("Forms")
shown = filtered_forms()
table_section(shown)
st.subheader("Transactions behind a form")
account_section(shown)
st.subheader("Export for Stripe")
export_section()
with st.expander(f"{readiness.FILED_BY_STRIPE} ({len(report.filed_by_stripe):,})"):
    st.caption("These accounts' `controller.fees.payer` is `account`: Stripe issues their 1099 itself.")
    st.dataframe([{**f.model_dump(), "gross_usd": export.dollars(f.gross_amount)} for f in report.filed_by_stripe],
                 hide_index=True, width="stretch")
with st.expander(f"Rules and sources for {year}"):
    st.caption(f"Method: {md(computation.METHODS[method])} ({md(computation.METHOD_SOURCE)}).")
    st.dataframe(rule_rows(report.rules), hide_index=True, width="stretch")
