"""Which form each US account gets for a year, what it must file, and whether it can be filed: in Stripe's words.

A form is **Will not file** (below every threshold that applies, or `NOT_REQUIRED`), **Needs attention**
(it has to be filed but the payee's details are incomplete: Address, Business name, TIN missing) or
**Ready**. A form with a payment in another currency than USD and no rate for its day needs attention
("Exchange rate missing"), its unconverted amounts shown: whether it crosses a threshold is not known yet,
so it is never dropped. Accounts whose `controller.fees.payer` is `account` get their 1099 from Stripe itself
(Stripe Docs, 'Choose a calculation method': "won't be included, but instead could be included in a
Stripe-issued 1099"); they are listed as filed by Stripe, never as forms.

The TIN is never read, let alone shown: Stripe only says whether one was provided. For a person,
`individual.id_number_provided` is true even when only the last 4 digits of the SSN were given
(`ssn_last_4_provided`), so it proves a full TIN only when Stripe is not asking for `individual.id_number`.
A sole proprietorship or single-member LLC without an EIN gives its representative's SSN, and Stripe files
with it (Stripe Docs, 'Required verification information for taxes',
docs.stripe.com/connect/required-verification-information-taxes: a Single Person Entity, `company` with
structure `sole_proprietorship` or `single_member_llc`, uses the representative's personal tax details):
its TIN is there unless Stripe still asks for `representative.id_number` or `company.tax_id`.

Box 4 (federal income tax withheld, backup withholding) is 0: Stripe's account objects carry no backup
withholding and Connect Ops withholds nothing.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Literal

import duckdb
from pydantic import BaseModel

from core.tax import computation
from core.tax.computation import METHODS_BY_FORM, AccountTotals, Method
from core.tax.fx import NO_RATES, Rates
from core.tax.overrides import FilingRequirement, Override, overrides_for_year
from core.tax.rules import FORM_LABELS, FORM_TYPES, FormType, StateRule, TaxYearRules, rules_for, state_rule

Status = Literal["Will not file", "Needs attention", "Ready"]
STATUSES: tuple[Status, ...] = ("Ready", "Needs attention", "Will not file")
FILED_BY_STRIPE = "Filed by Stripe"
ADDRESS, BUSINESS_NAME, TIN_MISSING = "Address", "Business name", "TIN missing"
FX_MISSING = "Exchange rate missing"
REASONS = (ADDRESS, BUSINESS_NAME, TIN_MISSING, FX_MISSING)
TinStatus = Literal["ein", "ssn", "representative_ssn", "ssn_last4", "missing"]
TIN_WORDS: dict[str, str] = {"ein": "EIN provided", "ssn": "SSN or ITIN provided",
                             "representative_ssn": "Representative's SSN (sole proprietor or single-member LLC)",
                             "ssn_last4": "Only the last 4 digits of the SSN", "missing": "Not provided"}
OWNER_STRUCTURES = ("sole_proprietorship", "single_member_llc")


class Payee(BaseModel):
    """What a 1099 needs to know about a US connected account (from its Stripe object)."""

    account_id: str
    display_name: str | None  # what the platform calls it (business profile), for people reading the table
    name: str | None  # the legal payee name: the company's, or the person's first and last name
    business_type: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    country: str
    tin: TinStatus
    fees_payer: str | None
    structure: str | None = None

    @property
    def filed_by_stripe(self) -> bool:
        return self.fees_payer == "account"

    def missing(self) -> list[str]:
        """Stripe's needs-attention reasons, in its order."""
        reasons = []
        if not all(_present(v) for v in (self.address_line1, self.city, self.state, self.postal_code)):
            reasons.append(ADDRESS)
        if not _present(self.name):
            reasons.append(BUSINESS_NAME)
        if self.tin not in ("ein", "ssn", "representative_ssn"):
            reasons.append(TIN_MISSING)
        return reasons


def _present(value: str | None) -> bool:
    return bool(value and value.strip())


_PAYEES_SQL = """
SELECT id, business_name, business_type, fees_payer,
       entity->>'$.name' AS company_name,
       trim(concat_ws(' ', entity->>'$.first_name', entity->>'$.last_name')) AS person_name,
       entity->>'$.address.line1', entity->>'$.address.line2', entity->>'$.address.city',
       entity->>'$.address.state', entity->>'$.address.postal_code',
       CAST(entity->'$.tax_id_provided' AS BOOLEAN), CAST(entity->'$.id_number_provided' AS BOOLEAN),
       CAST(entity->'$.ssn_last_4_provided' AS BOOLEAN), is_person, asks_id_number,
       entity->>'$.structure' AS structure, asks_representative_tin
FROM (
    SELECT id, business_name, business_type, v[1]->>'$' AS fees_payer, is_person,
           CASE WHEN is_person THEN v[3] ELSE v[2] END AS entity,
           contains(coalesce(v[4]->>'$', '') || coalesce(v[5]->>'$', '') || coalesce(v[6]->>'$', ''),
                    '"individual.id_number"') AS asks_id_number,
           regexp_matches(coalesce(v[4]->>'$', '') || coalesce(v[5]->>'$', '') || coalesce(v[6]->>'$', ''),
                          '"(representative\\.id_number|representative\\.ssn_last_4|company\\.tax_id)"')
               AS asks_representative_tin
    FROM (  -- each account's JSON parsed once (raw holds the whole account: bank accounts, settings...)
        SELECT id, business_name, business_type, v,
               business_type = 'individual' OR (business_type IS NULL AND json_type(v[2]) IS DISTINCT FROM 'OBJECT')
                   AS is_person
        FROM (SELECT id, business_name, business_type,
                     json_extract(raw, ['$.controller.fees.payer', '$.company', '$.individual',
                                        '$.requirements.past_due', '$.requirements.currently_due',
                                        '$.requirements.eventually_due']) AS v
              FROM connected_accounts WHERE country = 'US')))"""


def payees(cur: duckdb.DuckDBPyConnection) -> dict[str, Payee]:
    """Every US connected account, by id."""
    out = {}
    for (account_id, display, business_type, payer, company_name, person_name, line1, line2, city, state, postal,
         tax_id, id_number, last4, is_person, asks_id_number, structure, asks_rep) in cur.execute(_PAYEES_SQL).fetchall():
        out[account_id] = Payee(
            account_id=account_id, display_name=display, business_type=business_type, fees_payer=payer,
            name=(person_name or None) if is_person else company_name, address_line1=line1, address_line2=line2,
            city=city, state=state, postal_code=postal, country="US",
            structure=structure, tin=_tin(bool(is_person), tax_id, id_number, last4, bool(asks_id_number))
            if is_person or tax_id or structure not in OWNER_STRUCTURES or asks_rep else "representative_ssn")
    return out


def _tin(is_person: bool, tax_id: bool | None, id_number: bool | None, last4: bool | None,
         asks_id_number: bool) -> TinStatus:
    if not is_person:
        return "ein" if tax_id else "missing"
    if id_number and not asks_id_number:
        return "ssn"
    return "ssn_last4" if (id_number or last4) else "missing"


class TaxForm(BaseModel):
    """One account's form for the year: boxes in USD cents, what must be filed, and whether it can be."""

    stripe_account_id: str
    display_name: str | None
    payee: Payee
    form_type: FormType
    form_type_overridden: bool
    filing_requirement: FilingRequirement
    method: Method
    gross_amount: int
    card_not_present_amount: int
    monthly_amounts: list[int]
    transaction_count: int
    federal_filing_required: bool
    federal_rule: str
    federal_other_reading: str | None = None  # 2024's 1099-K: the OBBBA reading, for corrections
    federal_other_reading_required: bool | None = None
    state: str | None
    state_filing_required: bool
    state_rule: str
    state_channel: str | None = None  # CFSF (through the IRS) or State Portal (filed with the state)
    state_under_review: bool = False
    state_other_reading_required: bool | None = None
    state_filer_id: str | None = None  # the platform's number with the payee's state (a setting), if it has one
    state_income: int = 0  # what the state form reports (box 1a / box 1 / box 3 when the state takes it)
    state_tax_withheld: int = 0  # Connect Ops withholds nothing
    federal_income_tax_withheld: int = 0  # box 4, backup withholding: none in Stripe's data, none by us
    status: Status
    needs_attention: list[str]
    missing: list[str]  # what is incomplete whatever the status (a form below threshold needs nothing)
    unconverted: dict[str, int]
    filed_amounts: dict[str, Any] | None = None  # the figures frozen when the form was marked filed
    correction_needed: bool = False
    differences: list[dict[str, Any]] = []  # box by box: what was filed, what it is now

    def boxes(self) -> dict[str, Any]:
        """What a filed form froze: its boxes and the payee details printed on it."""
        p = self.payee
        return {"form_type": self.form_type, "gross_amount": self.gross_amount,
                "card_not_present_amount": self.card_not_present_amount,
                "monthly_amounts": list(self.monthly_amounts), "transaction_count": self.transaction_count,
                "federal_income_tax_withheld": self.federal_income_tax_withheld, "state": self.state,
                "state_income": self.state_income, "state_tax_withheld": self.state_tax_withheld,
                "payee_name": p.name, "payee_address": [p.address_line1, p.address_line2, p.city, p.state,
                                                          p.postal_code], "tin": p.tin}

    def record(self) -> dict[str, Any]:
        """The `connect-ops tax-forms --format json` element (amounts in USD cents)."""
        return {"stripe_account_id": self.stripe_account_id, "form_type": self.form_type,
                "gross_amount": self.gross_amount, "card_not_present_amount": self.card_not_present_amount,
                "monthly_amounts": list(self.monthly_amounts), "transaction_count": self.transaction_count,
                "federal_filing_required": self.federal_filing_required, "state": self.state,
                "state_filing_required": self.state_filing_required, "status": self.status,
                "needs_attention": list(self.needs_attention), "not_converted": dict(self.unconverted),
                "federal_income_tax_withheld": self.federal_income_tax_withheld,
                "federal_other_reading_required": self.federal_other_reading_required,
                "state_under_review": self.state_under_review,
                "state_other_reading_required": self.state_other_reading_required,
                "filed_amounts": self.filed_amounts, "correction_needed": self.correction_needed}


class FiledByStripe(BaseModel):
    stripe_account_id: str
    display_name: str | None
    state: str | None
    gross_amount: int
    transaction_count: int


class TaxYearReport(BaseModel):
    year: int
    method: Method
    default_form_type: FormType
    rules: TaxYearRules
    forms: list[TaxForm]
    filed_by_stripe: list[FiledByStripe]
    platform_attention: list[str] = []  # what blocks filing for the whole platform (state filer IDs)


def method_problem(form_type: FormType, method: Method) -> str | None:
    """One line when Stripe does not offer this method for this form (payouts only: 1099-NEC and MISC)."""
    if method in METHODS_BY_FORM[form_type]:
        return None
    offered = " and ".join(FORM_LABELS[f] for f in FORM_TYPES if method in METHODS_BY_FORM[f])
    return (f"the {computation.METHODS[method].lower()} method is offered for {offered} only ({computation.METHOD_SOURCE}); "
            f"the default form is {FORM_LABELS[form_type]}")


def tax_year_report(cur: duckdb.DuckDBPyConnection, year: int, method: Method = computation.DEFAULT_METHOD,
                    default_form_type: FormType = "k", rates: Rates = NO_RATES,
                    state_ids: dict[str, str] | None = None) -> TaxYearReport:
    """Every US account with activity in the year: a form, or 'filed by Stripe'. A form whose type Stripe does
    not offer `method` for is computed with the default method (and says so in its `method`)."""
    rules = rules_for(year)
    people = payees(cur)
    overrides = overrides_for_year(cur, year)
    totals = computation.year_totals(cur, list(people), year, method, rates)
    form_types = {a: _form_type(default_form_type, overrides.get(a)) for a in totals}
    fallback = [a for a, f in form_types.items() if method not in METHODS_BY_FORM[f]]
    totals.update(computation.year_totals(cur, fallback, year, computation.DEFAULT_METHOD, rates))
    forms, by_stripe = [], []
    for account_id, total in totals.items():
        payee = people[account_id]
        if payee.filed_by_stripe:
            by_stripe.append(FiledByStripe(stripe_account_id=account_id, display_name=payee.display_name,
                                           state=payee.state, gross_amount=total.gross_amount,
                                           transaction_count=total.transaction_count))
            continue
        used: Method = computation.DEFAULT_METHOD if account_id in fallback else method
        forms.append(build_form(payee, total, rules, default_form_type, overrides.get(account_id), used,
                                state_ids or {}))
    forms.sort(key=lambda f: (STATUSES.index(f.status), -f.gross_amount, f.stripe_account_id))
    by_stripe.sort(key=lambda f: (-f.gross_amount, f.stripe_account_id))
    return TaxYearReport(year=year, method=method, default_form_type=default_form_type, rules=rules, forms=forms,
                         filed_by_stripe=by_stripe, platform_attention=missing_state_ids(rules, forms, state_ids or {}))


def _form_type(default_form_type: FormType, override: Override | None) -> FormType:
    return override.form_type if override and override.form_type else default_form_type


def build_form(payee: Payee, total: AccountTotals, rules: TaxYearRules, default_form_type: FormType,
               override: Override | None = None, method: Method = computation.DEFAULT_METHOD,
               state_ids: dict[str, str] | None = None) -> TaxForm:
    """One account's form under the year's rules, its override (if any) applied."""
    form_type = _form_type(default_form_type, override)
    requirement: FilingRequirement = override.filing_requirement if override else "DEFAULT"
    federal = rules.federal(form_type)
    amount, count = total.gross_amount, total.transaction_count
    federal_required = federal.threshold.met(amount, count)
    other = federal.other_reading
    rule = state_rule(rules, payee.state, form_type)
    state_required, state_words = _state(rule, payee.state, form_type, total, federal_required)
    missing = payee.missing() + ([FX_MISSING] if total.unconverted else [])
    status = _status(federal_required or state_required, missing, requirement, bool(total.unconverted))
    return TaxForm(
        stripe_account_id=payee.account_id, display_name=payee.display_name, payee=payee, form_type=form_type,
        form_type_overridden=bool(override and override.form_type), filing_requirement=requirement, method=method,
        gross_amount=amount, card_not_present_amount=total.card_not_present_amount,
        monthly_amounts=list(total.monthly_amounts), transaction_count=count,
        federal_filing_required=federal_required,
        federal_rule=f"{FORM_LABELS[form_type]} {rules.year}: {federal.threshold.words()}",
        federal_other_reading=other.threshold.words() if other else None,
        federal_other_reading_required=other.threshold.met(amount, count) if other else None,
        state=payee.state, state_filing_required=state_required, state_rule=state_words,
        state_channel=rule.channel if rule else None, state_under_review=bool(rule and rule.under_review),
        state_other_reading_required=(rule.other_reading.threshold.met(amount, count)
                                      if rule and rule.other_reading else None),
        state_filer_id=(state_ids or {}).get((payee.state or "").upper()) if state_required else None,
        state_income=amount if state_required else 0,
        status=status, needs_attention=missing if status == "Needs attention" else [], missing=missing,
        unconverted=dict(total.unconverted))


def _state(rule: StateRule | None, state: str | None, form_type: FormType, total: AccountTotals,
           federal_required: bool) -> tuple[bool, str]:
    """Whether the payee's state wants the form, and why. A rule under review files at its lower threshold."""
    if rule is None:
        return False, f"{state}: not in the {FORM_LABELS[form_type]} state table" if state else \
            "No state on the payee's address"
    if rule.kind == "threshold" and rule.threshold is not None:
        return rule.threshold.met(total.gross_amount, total.transaction_count), rule.words()
    if rule.kind == "federal":
        return federal_required, rule.words()
    return False, rule.words()


def _status(required: bool, missing: list[str], requirement: FilingRequirement, unconverted: bool = False) -> Status:
    """Stripe's status, with the platform's `filing_requirement` override applied. Amounts without a rate
    always need attention (unless the form is not to be filed): its threshold test cannot be finished."""
    if requirement == "NOT_REQUIRED":
        return "Will not file"
    if unconverted:
        return "Needs attention"
    if not required and requirement not in ("REQUIRED", "REQUIRED_EVEN_IF_BELOW_THRESHOLD"):
        return "Will not file"
    if missing and requirement not in ("REQUIRED", "REQUIRED_EVEN_IF_INCOMPLETE"):
        return "Needs attention"
    return "Ready"


def missing_state_ids(rules: TaxYearRules, forms: list[TaxForm], state_ids: dict[str, str]) -> list[str]:
    """'Needs attention' for the platform: states that want our state number on forms we file there, with no
    number set (CONNECT_OPS_TAX_STATE_IDS). Delaware's 'Must use EIN' needs no setting."""
    counts: dict[tuple[str, str], int] = {}
    for form in forms:
        rule = state_rule(rules, form.state, form.form_type)
        if (form.status != "Will not file" and form.state_filing_required and rule and rule.state_id
                and rule.state_id != "Must use EIN" and rule.state not in state_ids):
            counts[(rule.state, form.form_type)] = counts.get((rule.state, form.form_type), 0) + 1
    return [f"Needs attention: no state filer ID for {state} ({rules.states[form][state].state_id}) for "
            f"{n:,} {FORM_LABELS[form]} form{'s' if n != 1 else ''}: set it in CONNECT_OPS_TAX_STATE_IDS"
            for (state, form), n in sorted(counts.items())]


# --------------------------------------------------------------------------- summaries for the page

class Summary(BaseModel):
    by_type_and_status: dict[str, dict[str, int]]  # "1099-K" -> status -> forms
    totals_to_file: dict[str, int]  # "1099-K" -> gross USD cents of forms that are filed (Ready + Needs attention)
    blocked: int
    blocked_by_reason: dict[str, int]
    accounts_by_status: dict[str, int]  # including "Filed by Stripe"


def summarize(report: TaxYearReport) -> Summary:
    by_type: dict[str, Counter[str]] = {}
    totals: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for form in report.forms:
        label = FORM_LABELS[form.form_type]
        by_type.setdefault(label, Counter())[form.status] += 1
        if form.status != "Will not file":
            totals[label] += form.gross_amount
        reasons.update(form.needs_attention)
    statuses = Counter(f.status for f in report.forms)
    accounts = {s: statuses.get(s, 0) for s in STATUSES} | {FILED_BY_STRIPE: len(report.filed_by_stripe)}
    return Summary(by_type_and_status={k: {s: v.get(s, 0) for s in STATUSES} for k, v in by_type.items()},
                   totals_to_file=dict(totals), blocked=statuses.get("Needs attention", 0),
                   blocked_by_reason={r: reasons.get(r, 0) for r in REASONS},
                   accounts_by_status=accounts)
