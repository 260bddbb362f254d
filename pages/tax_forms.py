"""Tax forms: each US connected account's 1099-K, 1099-NEC or 1099-MISC for a year, previewed, checked, exported,
filed and corrected."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from core.actions import ActionFailed
from core.app.st_runtime import act, page_header, query
from core.app.text import NAME_LIMIT, md, visible
from core.auth import PermissionDenied, allowed
from core.clock import utc_now
from core.money import format_amount
from core.tax import computation, deadlines, export, filing, overrides, readiness
from core.tax.fx import NO_RATES, RatesError, load_rates
from core.tax.rules import FORM_LABELS, RULES, NoRulesError, rule_rows, rules_for

STATUS_COLORS = {"Ready": "#2e7d32", "Needs attention": "#ed6c02", "Will not file": "#9e9e9e",
                 readiness.FILED_BY_STRIPE: "#1976d2"}

runtime, actor = page_header("Tax forms", "tax_forms")
settings = runtime.settings
empty = runtime.no_data_text()
if empty:
    st.info(empty, icon=":material/hourglass_empty:")
    st.stop()

# The years with data, and the years with rules: a year of data before the tables still shows, in one line.
years = sorted(set(query(computation.tax_years)) | set(RULES), reverse=True)
cols = st.columns([1, 1, 2, 3])
year = cols[0].selectbox("Tax year", years, key="tax_year")
form_types = list(FORM_LABELS)
default_form = cols[1].selectbox("Default form", form_types, format_func=FORM_LABELS.get, key="tax_default_form",
                                 index=form_types.index(settings.connect_ops_tax_form_type),
                                 help="The platform's default is CONNECT_OPS_TAX_FORM_TYPE; another one previews it")
methods = list(computation.METHODS_BY_FORM[default_form])
method = cols[2].selectbox("Calculation method", methods, format_func=computation.METHODS.get, key="tax_method",
                           index=methods.index(settings.connect_ops_tax_calculation_method)
                           if settings.connect_ops_tax_calculation_method in methods else 0,
                           help="The methods Stripe offers for the default form (payouts only: 1099-NEC and "
                                "1099-MISC); the platform's default is CONNECT_OPS_TAX_CALCULATION_METHOD")
cols[3].caption(f"Default form: **{FORM_LABELS[default_form]}**, overridable per account below. Year and month by "
                f"the `available_on` of each payment's balance transaction, in UTC. {computation.CONVERSION_NOTE}")
try:
    rules_for(year)
except NoRulesError as exc:
    st.error(f"{exc}.", icon=":material/gavel:")
    st.stop()
try:
    rates = load_rates(settings.connect_ops_tax_fx_rates)
except RatesError as exc:
    st.error(f"{md(exc)}: non-USD amounts are shown unconverted.", icon=":material/currency_exchange:")
    rates = NO_RATES
report = query(readiness.tax_year_report, year, method, default_form, rates,
               settings.connect_ops_tax_state_ids)
report = filing.with_filing(report, query(filing.filed_for_year, year))
summary = readiness.summarize(report)
if report.rules.note:
    st.warning(report.rules.note, icon=":material/gavel:")
if report.rules.k.other_reading:
    st.warning(f"{year} 1099-K, rule under review: {report.rules.k.note}", icon=":material/gavel:")
for line in report.platform_attention:
    st.warning(line, icon=":material/badge:")


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
    reasons = cols[3].multiselect("Missing", readiness.REASONS, key="tax_missing")
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
        st.warning(f"{len(unconverted):,} forms need attention: exchange rate missing. Their non-USD payments have "
                   "no rate for their day in CONNECT_OPS_TAX_FX_RATES; the amounts are shown unconverted (column "
                   "not_converted), never dropped.", icon=":material/currency_exchange:")
    review = [f for f in forms if f.state_under_review or f.federal_other_reading is not None]
    if review:
        st.caption(f"Rule under review for {len(review):,} forms: filed at the lower threshold; both readings are "
                   "in the columns state_rule and federal_other_reading_required.")


def account_section(forms: list[readiness.TaxForm]) -> None:
    """One account's transaction log: every box is a sum over its rows."""
    if not forms:
        st.caption("No form matches the filters.")
        return
    by_id = {f.stripe_account_id: f for f in forms}
    account_id = st.selectbox("Account", list(by_id), key="tax_account", format_func=lambda a: (
        f"{a} · {visible(by_id[a].display_name or by_id[a].payee.name or '', NAME_LIMIT)}"))
    form = by_id[account_id]
    log = query(computation.transaction_log, account_id, year, form.method, rates)
    boxes = computation.totals_of(log)
    st.caption(f"{md(FORM_LABELS[form.form_type])} · {md(form.status)} · {md(filing.filing_words(form))} · "
               f"federal: {md(form.federal_rule)} · state: {md(form.state_rule)} · "
               f"TIN: {md(readiness.TIN_WORDS[form.payee.tin])} · backup withholding (box 4): $0.00")
    if form.unconverted:
        st.warning("Needs attention: exchange rate missing. Not converted: " + md(", ".join(
            format_amount(a, c) for c, a in sorted(form.unconverted.items()))))
    if form.correction_needed:
        st.warning("Correction needed: the filed form differs from what it says now.")
        st.dataframe([{k: str(v) for k, v in d.items()} for d in form.differences], hide_index=True, width="stretch")
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
        choices = ["default", "k", "nec", "misc"]
        current = form.form_type if form.form_type_overridden else "default"
        kind = st.radio("Form type", choices, index=choices.index(current), horizontal=True,
                        format_func=lambda c: f"Platform default ({FORM_LABELS[default_form]})"
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


def season_section() -> None:
    """Deadlines with days left, forms marked filed (audited), corrections and Stripe's file for them."""
    calendar = deadlines.calendar(report, utc_now().date())
    st.dataframe([{"form": d.form, "to": d.to, "due": d.due.isoformat(), "days_left": d.days_left, "forms": d.forms,
                   "not_ready": d.not_ready, "source": d.source} for d in calendar], hide_index=True, width="stretch")
    fixes = filing.corrections(report.forms)
    filed_count = sum(1 for f in report.forms if f.filed_amounts is not None)
    st.caption(f"{filed_count:,} forms marked filed · {len(fixes):,} need a correction (a filed form whose boxes or "
               "payee details changed); filed figures are kept beside the live ones.")
    st.download_button(f"Corrections for Stripe ({len(fixes):,}, CSV)", filing.correction_csv(report.forms),
                       icon=":material/download:", file_name=f"stripe-1099-corrections-{year}.csv", mime="text/csv",
                       disabled=not fixes, key="export_corrections")
    if allowed(actor, f"action:{filing.ACTION}"):
        if flash := st.session_state.pop("tax_filed_flash", None):
            st.success(flash)
        mark_filed_form()


def mark_filed_form() -> None:
    """Mark the year's forms filed: all forms to file, or the rows of the import file that was filed."""
    with st.expander("Mark forms filed"), st.form(f"mark_filed_{year}"):
        which = st.radio("Which forms", ["all", "import"], horizontal=True, key="tax_filed_which",
                         format_func=lambda w: "Every Ready form" if w == "all" else "The rows of an import file")
        upload = st.file_uploader("Import file that was filed (CSV)", type=["csv"], key="tax_filed_file")
        reason = st.text_input("Reason (goes in the audit log)", key="tax_filed_reason")
        if st.form_submit_button("Mark filed"):
            try:
                ids = None
                if which == "import":
                    if upload is None:
                        raise ActionFailed("Choose the import file that was filed.")
                    ids = filing.accounts_in_import(upload.getvalue().decode("utf-8", errors="replace"))
                result = act(filing.mark_filed, actor, report, reason, ids)
            except (ActionFailed, PermissionDenied) as exc:
                st.error(md(exc))
            else:
                st.session_state["tax_filed_flash"] = result.message
                st.rerun()


summary_section()
st.subheader("Forms")
shown = filtered_forms()
table_section(shown)
st.subheader("Transactions behind a form")
account_section(shown)
st.subheader("Export for Stripe")
export_section()
st.subheader("Filing season")
season_section()
with st.expander(f"{readiness.FILED_BY_STRIPE} ({len(report.filed_by_stripe):,})"):
    st.caption("These accounts' `controller.fees.payer` is `account`: Stripe issues their 1099 itself.")
    st.dataframe([{**f.model_dump(), "gross_usd": export.dollars(f.gross_amount)} for f in report.filed_by_stripe],
                 hide_index=True, width="stretch")
with st.expander(f"Rules and sources for {year}"):
    st.caption(f"Method: {md(computation.METHODS[method])} ({md(computation.METHOD_SOURCE)}).")
    st.dataframe(rule_rows(report.rules), hide_index=True, width="stretch")
