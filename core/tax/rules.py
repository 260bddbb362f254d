"""The 1099 rules as data: one table per tax year, every row with the source it was checked against.

Thresholds change by law, by IRS notice and by state; finance has to show a merchant (or an auditor)
why a form is or is not filed. So nothing here is computed from a rule of thumb: each row names its
source and a URL to read it at, and `rules_for(year)` says when a year has no table of its own.

Amounts are USD cents. A threshold is met when the amount (and, where there is one, the number of
payment transactions) passes it the way the source words it: "more than" is `>`, "or more" is `>=`.

Where the law reads two ways (2024's 1099-K; MD, VT and VA in 2026) the row keeps both readings: the
form is filed at the lower threshold (never dropped on an unconfirmed reading), and the page shows the
other reading beside it, marked "rule under review".
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

FormType = Literal["k", "nec", "misc"]
FORM_TYPES: tuple[FormType, ...] = ("k", "nec", "misc")
Comparison = Literal[">", ">="]
StateKind = Literal["threshold", "federal", "withholding", "none"]
Channel = Literal["CFSF", "State Portal", "If State Withholding", "No"]

FORM_LABELS: dict[str, str] = {"k": "1099-K", "nec": "1099-NEC", "misc": "1099-MISC"}
UNDER_REVIEW = "rule under review"


class Threshold(BaseModel):
    """A filing threshold: an amount in USD cents and, for some rules, a count of payment transactions."""

    model_config = ConfigDict(frozen=True)

    amount: int
    amount_op: Comparison
    count: int | None = None
    count_op: Comparison = ">"

    def met(self, amount: int, count: int) -> bool:
        """Whether these totals pass the threshold (both parts, where there are two)."""
        if not _passes(amount, self.amount_op, self.amount):
            return False
        return self.count is None or _passes(count, self.count_op, self.count)

    def words(self) -> str:
        """'more than $20,000 and more than 200 transactions', as the source words it."""
        text = f"{_op_words(self.amount_op)} ${self.amount // 100:,}"
        if self.count is not None:
            text += f" and {_op_words(self.count_op)} {self.count:,} transactions"
        return text


def _passes(value: int, op: Comparison, limit: int) -> bool:
    return value > limit if op == ">" else value >= limit


def _op_words(op: Comparison) -> str:
    return "more than" if op == ">" else "at least"


class Reading(BaseModel):
    """The other reading of an unsettled rule: shown beside the one we file by, never used to drop a form."""

    model_config = ConfigDict(frozen=True)

    threshold: Threshold
    source: str
    url: str


class Due(BaseModel):
    """When a form is due with a state: the IRS date, a fixed date after the tax year, or days from the IRS
    e-file date (MD: 30 days before it; VT: 30 days after)."""

    model_config = ConfigDict(frozen=True)

    month_day: tuple[int, int] | None = None
    days_from_irs: int | None = None


SAME_AS_IRS = Due()


class FederalRule(BaseModel):
    model_config = ConfigDict(frozen=True)

    form: FormType
    threshold: Threshold
    source: str
    url: str
    note: str = ""
    other_reading: Reading | None = None


class StateRule(BaseModel):
    """What a state asks of one form type for a payee with an address there (Stripe's state tables).

    kind: `threshold` (its own threshold), `federal` (files when the IRS threshold is met), `withholding`
    (only when state tax was withheld: Connect Ops withholds none), `none` (no state form).
    channel: how it reaches the state: through the IRS (CFSF) or filed with the state directly."""

    model_config = ConfigDict(frozen=True)

    state: str
    form: FormType
    kind: StateKind
    channel: Channel
    threshold: Threshold | None = None
    due: Due = SAME_AS_IRS
    state_id: str | None = None  # the platform's state number the state wants on the form, if it issued one
    source: str
    url: str
    note: str = ""
    other_reading: Reading | None = None

    @property
    def under_review(self) -> bool:
        return self.other_reading is not None

    @property
    def files(self) -> bool:
        """Whether the state takes this form from us at all (withholding-only states: we withhold none)."""
        return self.kind in ("threshold", "federal")

    def words(self) -> str:
        label = FORM_LABELS[self.form]
        if self.kind == "threshold" and self.threshold is not None:
            text = f"{self.state}: {self.threshold.words()} ({self.channel})"
            if self.other_reading is not None:
                text += (f"; {UNDER_REVIEW}: filed at the lower threshold, the other reading is "
                         f"{self.other_reading.threshold.words()}")
            return text
        if self.kind == "federal":
            return f"{self.state}: same threshold as the IRS ({self.channel})"
        if self.kind == "withholding":
            extra = f" ({self.threshold.words()})" if self.threshold else ""
            return f"{self.state}: {label} only if state tax was withheld{extra}; none withheld"
        return f"{self.state}: no state {label}"


class TaxYearRules(BaseModel):
    model_config = ConfigDict(frozen=True)

    year: int
    k: FederalRule
    nec: FederalRule
    misc: FederalRule
    states: dict[str, dict[str, StateRule]]  # form type -> state -> rule
    note: str = ""

    def federal(self, form: FormType) -> FederalRule:
        return {"k": self.k, "nec": self.nec, "misc": self.misc}[form]


class NoRulesError(ValueError):
    """A year with no 1099 rules: one line for the page and the command line."""


# --------------------------------------------------------------------------- the federal rules

def _usd(dollars: int) -> int:
    return dollars * 100


IRS_NOTICE_2023_10 = "https://www.irs.gov/pub/irs-drop/n-23-10.pdf"
IRS_NOTICE_2023_74 = "https://www.irs.gov/pub/irs-drop/n-23-74.pdf"
IRS_NOTICE_2024_85 = "https://www.irs.gov/pub/irs-drop/n-24-85.pdf"
USC_6050W = "https://www.law.cornell.edu/uscode/text/26/6050W"
USC_6041 = "https://www.law.cornell.edu/uscode/text/26/6041"
IRS_I1099MEC = "https://www.irs.gov/instructions/i1099mec"

NOTICE_2023_10 = ("IRS Notice 2023-10 (23 Dec 2022): 2022 is a transition year, TPSOs report only above $20,000 and "
                  "200 transactions (the pre-ARPA 26 U.S.C. 6050W(e) de minimis)")
NOTICE_2023_74 = ("IRS Notice 2023-74: 2023 is a further transition year, TPSOs report only above $20,000 and "
                  "200 transactions")
NOTICE_2024_85 = ("IRS Notice 2024-85 (26 Nov 2024): TPSOs report for 2024 when payments exceed $5,000, regardless of "
                  "the number of transactions; Stripe Docs 1099-K page (2024 season): 'exceeds $5,000 and there are "
                  "more than 0 transactions'. Forms filed on time for 2024 used this amount")
SECTION_70432 = ("P.L. 119-21 (One Big Beautiful Bill Act, 4 Jul 2025) sec. 70432 amending 26 U.S.C. 6050W(e): "
                 "report only if payments exceed $20,000 and transactions exceed 200, 'as if' ARPA's change had "
                 "never been enacted (so also for 2024, retroactively)")
SECTION_6041 = "26 U.S.C. 6041(a): payments of $600 or more in a calendar year (through payments made in 2025)"
SECTION_70433 = ("P.L. 119-21 sec. 70433 amending 26 U.S.C. 6041(a): $2,000 or more for payments made after "
                 "31 Dec 2025, indexed to inflation from 2027 (IRC 6041(h))")
MISC_600 = ("IRS Instructions for Forms 1099-MISC and 1099-NEC: 1099-MISC for at least $600 in rents, prizes and "
            "awards, other income payments (box 3), and at least $10 in royalties")
MISC_2000 = SECTION_70433 + "; the 1099-MISC amounts of 6041(a) (rents, other income) move with it"

K_20000_200 = Threshold(amount=_usd(20_000), amount_op=">", count=200, count_op=">")
K_5000 = Threshold(amount=_usd(5_000), amount_op=">")
AT_LEAST_600 = Threshold(amount=_usd(600), amount_op=">=")
AT_LEAST_2000 = Threshold(amount=_usd(2_000), amount_op=">=")

K_2022 = FederalRule(form="k", threshold=K_20000_200, source=NOTICE_2023_10, url=IRS_NOTICE_2023_10)
K_2023 = FederalRule(form="k", threshold=K_20000_200, source=NOTICE_2023_74, url=IRS_NOTICE_2023_74)
K_2024 = FederalRule(
    form="k", threshold=K_5000, source=NOTICE_2024_85, url=IRS_NOTICE_2024_85,
    note=f"{UNDER_REVIEW}: OBBBA sec. 70432 restored more than $20,000 and more than 200 transactions "
         "retroactively; timely 2024 filings used $5,000. Both readings are shown, for corrections.",
    other_reading=Reading(threshold=K_20000_200, source=SECTION_70432, url=USC_6050W))
K_2025 = FederalRule(form="k", threshold=K_20000_200, source=SECTION_70432, url=USC_6050W,
                     note="Notice 2024-85's $2,500 for 2025 no longer applies.")
K_2026 = FederalRule(form="k", threshold=K_20000_200, source=SECTION_70432, url=USC_6050W,
                     note="Notice 2024-85's $600 for 2026 no longer applies.")
NEC_600 = FederalRule(form="nec", threshold=AT_LEAST_600, source=SECTION_6041, url=USC_6041)
NEC_2000 = FederalRule(form="nec", threshold=AT_LEAST_2000, source=SECTION_70433, url=USC_6041)
MISC_600_RULE = FederalRule(form="misc", threshold=AT_LEAST_600, source=MISC_600, url=IRS_I1099MEC,
                            note="Amounts go in box 3 (other income); royalties ($10) are not separated here.")
MISC_2000_RULE = FederalRule(form="misc", threshold=AT_LEAST_2000, source=MISC_2000, url=USC_6041,
                             note="Amounts go in box 3 (other income); royalties ($10) are not separated here.")


def _year(year: int, k: FederalRule, nec: FederalRule, misc: FederalRule) -> TaxYearRules:
    from core.tax.rules_states import state_tables

    return TaxYearRules(year=year, k=k, nec=nec, misc=misc, states=state_tables(year))


RULES: dict[int, TaxYearRules] = {
    2022: _year(2022, K_2022, NEC_600, MISC_600_RULE),
    2023: _year(2023, K_2023, NEC_600, MISC_600_RULE),
    2024: _year(2024, K_2024, NEC_600, MISC_600_RULE),
    2025: _year(2025, K_2025, NEC_600, MISC_600_RULE),
    2026: _year(2026, K_2026, NEC_2000, MISC_2000_RULE),
}
LATER_YEARS = 5  # years after the newest table that reuse it (with a note); beyond that, no rules


def rules_for(year: int) -> TaxYearRules:
    """The year's table; up to LATER_YEARS later years use the newest table and say so (the IRS indexes
    the $2,000 from 2027); any other year is refused in one line (NoRulesError), never guessed."""
    if year in RULES:
        return RULES[year]
    first, newest = min(RULES), max(RULES)
    if not first <= year <= newest + LATER_YEARS:
        raise NoRulesError(f"no 1099 rules for {year}: the tables cover {first}-{newest}, and "
                           f"{newest}'s are used up to {newest + LATER_YEARS}")
    base = RULES[newest]
    return base.model_copy(update={
        "year": year,
        "note": f"No table for {year} yet: {newest}'s rules are used. From 2027 the $2,000 1099-NEC and 1099-MISC "
                "amount is indexed to inflation; use the IRS figure for the year before filing."})


def state_rule(rules: TaxYearRules, state: str | None, form: FormType = "k") -> StateRule | None:
    """The rule for a payee's state (None when the address has no state, or a territory not in the table)."""
    return rules.states[form].get((state or "").strip().upper()) if state else None


def rule_rows(rules: TaxYearRules) -> list[dict[str, str]]:
    """The year's tables as rows for people to read (the page's 'Rules and sources')."""
    rows = []
    for f in (rules.k, rules.nec, rules.misc):
        other = f.other_reading
        rows.append({"applies_to": f"Federal {FORM_LABELS[f.form]}", "rule": f.threshold.words(),
                     "other_reading": f"{other.threshold.words()} ({other.source})" if other else "",
                     "source": f.source, "url": f.url, "note": f.note})
    for form in FORM_TYPES:
        for code, rule in sorted(rules.states[form].items()):
            other = rule.other_reading
            rows.append({"applies_to": f"State {FORM_LABELS[form]}: {code}", "rule": rule.words(),
                         "other_reading": f"{other.threshold.words()} ({other.source})" if other else "",
                         "source": rule.source, "url": rule.url, "note": rule.note})
    return rows
