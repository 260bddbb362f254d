"""The 1099 rules as data: one table per tax year, every row with the source it was checked against.

Thresholds change by law, by IRS notice and by state; finance has to show a merchant (or an auditor)
why a form is or is not filed. So nothing here is computed from a rule of thumb: each row names its
source, and `rules_for(year)` says when a year has no table of its own yet.

Amounts are USD cents. A threshold is met when the amount (and, where there is one, the number of
payment transactions) passes it the way the source words it: "more than" is `>`, "or more" is `>=`.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

FormType = Literal["k", "nec"]
Comparison = Literal[">", ">="]
StateKind = Literal["threshold", "federal", "withholding", "none"]

FORM_LABELS: dict[str, str] = {"k": "1099-K", "nec": "1099-NEC"}

# --------------------------------------------------------------------------- sources, cited once

STRIPE_STATES = ("Stripe Docs, '1099-K form state requirements' (docs.stripe.com/connect/1099-K, 2024 tax season): "
                 "per state, filing required (State Portal / CFSF), 'If State Withholding', or 'No', and the threshold")
NOTICE_2023_74 = ("IRS Notice 2023-74: 2023 is a further transition year, TPSOs report only above $20,000 and "
                  "200 transactions (summarised by Baker Tilly, 'IRS provides additional 1099-K relief')")
NOTICE_2024_85 = ("IRS Notice 2024-85 (26 Nov 2024): TPSOs report for 2024 when payments exceed $5,000, regardless of "
                  "the number of transactions (KPMG TaxNewsFlash 2024-11; JD Supra); Stripe Docs 1099-K page: "
                  "'exceeds $5,000 and there are more than 0 transactions'")
SECTION_70432 = ("P.L. 119-21 (One Big Beautiful Bill Act, 4 Jul 2025) sec. 70432 amending 26 U.S.C. 6050W(e): "
                 "report only if payments exceed $20,000 and transactions exceed 200, for calendar years after "
                 "31 Dec 2024 (26 U.S.C. 6050W notes; Sovos 'One Big Beautiful Bill raises 1099 reporting thresholds'; "
                 "Accounting Today)")
SECTION_6041 = ("26 U.S.C. 6041(a): payments of $600 or more in a calendar year (1099-NEC through payments made in "
                "2025; 1099fire.com and Johnson CPA summaries of P.L. 119-21 sec. 70433)")
SECTION_70433 = ("P.L. 119-21 sec. 70433 amending 26 U.S.C. 6041(a): $2,000 or more for payments made after "
                 "31 Dec 2025, indexed to inflation from 2027 (IRC 6041(h)); Sovos, 1099fire.com, CAPLAW")
VT_6041 = ("32 V.S.A. 5862d(b): TPSOs report Vermont payees as if 6050W(e) did not apply but the de minimis of "
           "26 U.S.C. 6041(a) did; Vermont Dept. of Taxes: 'payments that equal or exceed $600'")
VA_6041 = ("Virginia Tax Bulletin 20-10 (30 Oct 2020; HB 730 and SB 211 of 2020): TPSOs report Virginia payees "
           "'using the de minimis thresholds imposed for purposes of federal Form 1099-MISC', i.e. 26 U.S.C. 6041(a)")
MD_6041 = ("Md. Code, Tax-General 10-825(b): TPSOs report Maryland payees whose payments meet or exceed the "
           "filing threshold of 26 U.S.C. 6041(a)")
RAISED_2026 = " The 6041(a) amount became $2,000 for payments after 31 Dec 2025 (P.L. 119-21 sec. 70433)."


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


class FederalRule(BaseModel):
    model_config = ConfigDict(frozen=True)

    form: FormType
    threshold: Threshold
    source: str
    note: str = ""


class StateRule(BaseModel):
    """What a state asks of a 1099-K for a payee with an address there.

    kind: `threshold` (its own, lower threshold), `federal` (files when the IRS threshold is met),
    `withholding` (only when state tax was withheld: Connect Ops records none), `none` (no 1099-K)."""

    model_config = ConfigDict(frozen=True)

    state: str
    kind: StateKind
    threshold: Threshold | None = None
    source: str = STRIPE_STATES
    note: str = ""

    def words(self) -> str:
        if self.kind == "threshold" and self.threshold is not None:
            return f"{self.state}: {self.threshold.words()}"
        if self.kind == "federal":
            return f"{self.state}: same threshold as the IRS"
        if self.kind == "withholding":
            extra = f" ({self.threshold.words()})" if self.threshold else ""
            return f"{self.state}: only if state tax was withheld{extra}; none recorded"
        return f"{self.state}: no state 1099-K"


class TaxYearRules(BaseModel):
    model_config = ConfigDict(frozen=True)

    year: int
    k: FederalRule
    nec: FederalRule
    states: dict[str, StateRule]
    note: str = ""

    def federal(self, form: FormType) -> FederalRule:
        return self.k if form == "k" else self.nec


# --------------------------------------------------------------------------- the states

def _usd(dollars: int) -> int:
    return dollars * 100


def _lower(state: str, dollars: int, source: str, op: Comparison = ">=", count: int | None = None,
           count_op: Comparison = ">", note: str = "") -> StateRule:
    return StateRule(state=state, kind="threshold", source=source, note=note,
                     threshold=Threshold(amount=_usd(dollars), amount_op=op, count=count, count_op=count_op))


NO_STATE_1099K = ("AK", "DE", "ID", "MI", "MO", "NE", "NV", "NH", "NM", "OH", "OK", "PA", "SD", "TX", "WA", "WY")
WITHHOLDING_ONLY = ("AZ", "CO", "IN", "IA", "KY", "LA", "MN", "ND", "SC", "UT", "WV", "WI")
SAME_AS_IRS = ("AL", "CA", "CT", "FL", "GA", "HI", "KS", "ME", "MS", "NY", "OR", "TN")

LOWER_THRESHOLDS: tuple[StateRule, ...] = (
    _lower("AR", 2_500, "Ark. Admin. Code 006.05.97-4, Rule 1.26-51-811(a): 'payments totaling $2,500.00 or more'; "
           + STRIPE_STATES + ": $2,500"),
    _lower("DC", 600, "9 DCMR 111.1: 'six hundred dollars ($600) or more in the aggregate in any calendar year'; "
           + STRIPE_STATES + ": $600"),
    _lower("IL", 1_000, "35 ILCS 5/703A: 'the amount of those transactions exceeds $1,000 and the aggregate number "
           "of those transactions exceeds 3'; " + STRIPE_STATES + ": $1,000 and 4 transactions",
           op=">", count=3, count_op=">"),
    _lower("MD", 600, MD_6041 + "; " + STRIPE_STATES + ": $600"),
    _lower("MA", 600, "830 CMR 62C.8.1 and mass.gov 'Form 1099-K reporting requirements': 'the gross amount paid in "
           "settlement in a calendar year is $600 or greater ... regardless of the number of transactions'"),
    _lower("MT", 600, "Montana HB 203 (2021), sec. 1(2): 'third-party network transactions that total $600 or more'; "
           + STRIPE_STATES + ": $600"),
    _lower("NJ", 1_000, "N.J.A.C. 18:35-8.1(b): information returns 'if the amount paid or credited is $1,000 or "
           "more'; " + STRIPE_STATES + ": $1,000"),
    _lower("NC", 600, STRIPE_STATES + ": North Carolina, State Portal, $600; 1099fire.com lists NC at $600 too",
           note="Not in the issue's list; Stripe's table has it. Confirm with a tax advisor."),
    _lower("VT", 600, VT_6041 + "; " + STRIPE_STATES + ": $600"),
    _lower("VA", 600, VA_6041 + "; " + STRIPE_STATES + ": $600"),
)

RHODE_ISLAND = StateRule(
    state="RI", kind="withholding", threshold=Threshold(amount=_usd(100), amount_op=">="),
    source="R.I. Gen. Laws 44-30-58(c): returns of information for amounts of $100 or more; RI Division of "
           "Taxation: '1099 forms are not required unless there is Rhode Island withholding tax'; "
           + STRIPE_STATES + ": Rhode Island 'If State Withholding', $100",
    note="The issue lists RI at $100; Stripe and the RI Division of Taxation file it only when RI tax was withheld.")


def _states(overrides: tuple[StateRule, ...] = ()) -> dict[str, StateRule]:
    """Every state and DC, by two-letter code (the payee address's `state`)."""
    table: dict[str, StateRule] = {}
    table.update({s: StateRule(state=s, kind="none") for s in NO_STATE_1099K})
    table.update({s: StateRule(state=s, kind="withholding") for s in WITHHOLDING_ONLY})
    table.update({s: StateRule(state=s, kind="federal") for s in SAME_AS_IRS})
    table.update({rule.state: rule for rule in LOWER_THRESHOLDS})
    table["RI"] = RHODE_ISLAND
    table.update({rule.state: rule for rule in overrides})
    return table


STATES_2026_CHANGES = (  # states that follow 26 U.S.C. 6041(a), whose amount rose for payments made in 2026
    _lower("MD", 2_000, MD_6041 + "." + RAISED_2026),
    _lower("VT", 2_000, VT_6041 + "." + RAISED_2026),
    _lower("VA", 2_000, VA_6041 + "." + RAISED_2026),
)

# --------------------------------------------------------------------------- the federal rules

K_20000_200 = Threshold(amount=_usd(20_000), amount_op=">", count=200, count_op=">")
NEC_600 = FederalRule(form="nec", threshold=Threshold(amount=_usd(600), amount_op=">="), source=SECTION_6041)
NEC_2000 = FederalRule(form="nec", threshold=Threshold(amount=_usd(2_000), amount_op=">="), source=SECTION_70433)

RULES: dict[int, TaxYearRules] = {
    2023: TaxYearRules(year=2023, k=FederalRule(form="k", threshold=K_20000_200, source=NOTICE_2023_74),
                       nec=NEC_600, states=_states()),
    2024: TaxYearRules(year=2024, k=FederalRule(form="k", threshold=Threshold(amount=_usd(5_000), amount_op=">"),
                                                source=NOTICE_2024_85),
                       nec=NEC_600, states=_states()),
    2025: TaxYearRules(year=2025, k=FederalRule(form="k", threshold=K_20000_200, source=SECTION_70432,
                                                note="Notice 2024-85's $2,500 for 2025 no longer applies."),
                       nec=NEC_600, states=_states()),
    2026: TaxYearRules(year=2026, k=FederalRule(form="k", threshold=K_20000_200, source=SECTION_70432,
                                                note="Notice 2024-85's $600 for 2026 no longer applies."),
                       nec=NEC_2000, states=_states(STATES_2026_CHANGES)),
}


def rules_for(year: int) -> TaxYearRules:
    """The year's table; a later year uses the newest table and says so (the IRS indexes the 1099-NEC
    amount from 2027); an earlier one is refused rather than guessed."""
    if year in RULES:
        return RULES[year]
    newest = max(RULES)
    if year < min(RULES):
        raise ValueError(f"no 1099 rules for {year}: the tables start in {min(RULES)}")
    base = RULES[newest]
    return base.model_copy(update={
        "year": year,
        "note": f"No table for {year} yet: {newest}'s rules are used. From 2027 the $2,000 1099-NEC amount is "
                "indexed to inflation; use the IRS figure for the year before filing."})


def state_rule(rules: TaxYearRules, state: str | None) -> StateRule | None:
    """The rule for a payee's state (None when the address has no state, or a territory not in the table)."""
    return rules.states.get((state or "").strip().upper()) if state else None


def rule_rows(rules: TaxYearRules) -> list[dict[str, str]]:
    """The year's table as rows for people to read (the page's 'Rules and sources')."""
    rows = [{"applies_to": f"Federal {FORM_LABELS[f.form]}", "rule": f.threshold.words(), "source": f.source,
             "note": f.note} for f in (rules.k, rules.nec)]
    rows += [{"applies_to": f"State 1099-K: {code}", "rule": rule.words(), "source": rule.source, "note": rule.note}
             for code, rule in sorted(rules.states.items())]
    return rows
