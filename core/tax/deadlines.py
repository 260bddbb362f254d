"""The filing calendar of a tax year: per form, to payees, to the IRS and to each state, with days left.

Federal dates (IRS, 'General Instructions for Certain Information Returns', www.irs.gov/instructions/i1099gi,
"Guide to Information Returns"; Instructions for Form 1099-K, www.irs.gov/instructions/i1099k):
1099-K: to payees by 31 January, to the IRS by 28 February on paper or 31 March filed electronically;
1099-NEC: 31 January for payees and the IRS, paper or not; 1099-MISC: to payees by 31 January, to the IRS
by 28 February on paper or 31 March electronically. A date on a Saturday or Sunday moves to the Monday
("the due date is the next business day"); federal holidays are not in this table.
State dates come from the state rows (core/tax/rules_states.py): the IRS date, a date of their own, or days
from the IRS e-file date (MD: 30 days before it; VT: 30 days after).

"Today" is a parameter (the page passes core.clock's), never read here.
"""
from __future__ import annotations

from datetime import date, timedelta

from pydantic import BaseModel

from core.tax.readiness import TaxForm, TaxYearReport
from core.tax.rules import FORM_LABELS, FORM_TYPES, Due, state_rule

IRS_SOURCE = "https://www.irs.gov/instructions/i1099gi"
FEDERAL: dict[str, tuple[tuple[str, tuple[int, int]], ...]] = {
    "k": (("Payees", (1, 31)), ("IRS on paper", (2, 28)), ("IRS e-filed", (3, 31))),
    "nec": (("Payees", (1, 31)), ("IRS (paper or e-filed)", (1, 31))),
    "misc": (("Payees", (1, 31)), ("IRS on paper", (2, 28)), ("IRS e-filed", (3, 31))),
}


class Deadline(BaseModel):
    form: str
    to: str
    due: date
    days_left: int
    forms: int  # forms this deadline is for
    not_ready: int  # of them, still needing attention
    source: str


def business_day(day: date) -> date:
    """A Saturday or Sunday due date moves to the Monday."""
    return day + timedelta(days=(7 - day.weekday()) % 7) if day.weekday() >= 5 else day


def irs_efile_date(form_type: str, tax_year: int) -> date:
    month, day = FEDERAL[form_type][-1][1]
    return date(tax_year + 1, month, day)


def state_date(due: Due, form_type: str, tax_year: int) -> date:
    if due.month_day is not None:
        return date(tax_year + 1, *due.month_day)
    return irs_efile_date(form_type, tax_year) + timedelta(days=due.days_from_irs or 0)


def calendar(report: TaxYearReport, today: date) -> list[Deadline]:
    """Every deadline of the year's forms to file, soonest first."""
    out: list[Deadline] = []
    to_file = [f for f in report.forms if f.status != "Will not file"]
    for form_type in FORM_TYPES:
        forms = [f for f in to_file if f.form_type == form_type]
        if not forms:
            continue
        label = FORM_LABELS[form_type]
        for to, (month, day) in FEDERAL[form_type]:
            out.append(_deadline(label, to, business_day(date(report.year + 1, month, day)), today, forms,
                                 IRS_SOURCE))
        by_state: dict[str, list[TaxForm]] = {}
        for f in forms:
            if f.state_filing_required and f.state:
                by_state.setdefault(f.state.upper(), []).append(f)
        for state, state_forms in sorted(by_state.items()):
            rule = state_rule(report.rules, state, form_type)
            if rule is None:
                continue
            due = business_day(state_date(rule.due, form_type, report.year))
            out.append(_deadline(label, f"{state} ({rule.channel})", due, today, state_forms, rule.url))
    return sorted(out, key=lambda d: (d.due, d.form, d.to))


def _deadline(label: str, to: str, due: date, today: date, forms: list[TaxForm], source: str) -> Deadline:
    return Deadline(form=label, to=to, due=due, days_left=(due - today).days, forms=len(forms),
                    not_ready=sum(1 for f in forms if f.status == "Needs attention"), source=source)
