"""The thresholds, year by year, just above and just below, by amount and by count; and the states."""
from __future__ import annotations

import pytest

from core.tax.computation import AccountTotals
from core.tax.readiness import Payee, build_form
from core.tax.rules import RULES, NoRulesError, rule_rows, rules_for

K_YEARS = {2022: (2_000_000, 200), 2023: (2_000_000, 200), 2024: (500_000, None), 2025: (2_000_000, 200),
           2026: (2_000_000, 200)}
NEC_YEARS = {2022: 60_000, 2023: 60_000, 2024: 60_000, 2025: 60_000, 2026: 200_000}


def payee(state: str | None = "CA", **changes: object) -> Payee:
    base = {"account_id": "acct_rules", "display_name": "Shop", "name": "Acme LLC", "business_type": "company",
            "address_line1": "1 Main St", "address_line2": None, "city": "Springfield", "state": state,
            "postal_code": "02139", "country": "US", "tin": "ein", "fees_payer": "application"}
    return Payee(**{**base, **changes})


def form(year: int, amount: int, count: int, state: str | None = "CA", form_type: str = "k"):
    totals = AccountTotals(account_id="acct_rules", gross_amount=amount, card_not_present_amount=amount,
                           monthly_amounts=[amount] + [0] * 11, transaction_count=count, unconverted={})
    return build_form(payee(state), totals, rules_for(year), form_type)  # type: ignore[arg-type]


@pytest.mark.parametrize("year", sorted(K_YEARS))
def test_federal_1099k_threshold_by_amount(year: int) -> None:
    amount, count = K_YEARS[year]
    many = (count or 0) + 1
    assert form(year, amount + 1, many, state="TX").federal_filing_required  # TX: no state 1099-K
    assert not form(year, amount, many, state="TX").federal_filing_required
    assert form(year, amount + 1, many, state="TX").status == "Ready"
    assert form(year, amount, many, state="TX").status == "Will not file"


@pytest.mark.parametrize("year", sorted(K_YEARS))
def test_federal_1099k_threshold_by_count(year: int) -> None:
    amount, count = K_YEARS[year]
    if count is None:  # 2024 (Notice 2024-85): any number of transactions, even one
        assert form(year, amount + 1, 1, state="TX").federal_filing_required
        return
    assert form(year, amount * 10, count + 1, state="TX").federal_filing_required
    assert not form(year, amount * 10, count, state="TX").federal_filing_required


@pytest.mark.parametrize("year", sorted(NEC_YEARS))
def test_federal_1099nec_threshold(year: int) -> None:
    amount = NEC_YEARS[year]
    assert form(year, amount, 1, form_type="nec").federal_filing_required  # "or more"
    assert not form(year, amount - 1, 50, form_type="nec").federal_filing_required
    assert "1099-NEC" in form(year, amount, 1, form_type="nec").federal_rule


def test_the_2024_notice_amounts_no_longer_apply_in_2025_and_2026() -> None:
    assert not form(2025, 250_001, 300, state="TX").federal_filing_required  # Notice 2024-85 said $2,500
    assert not form(2026, 60_001, 300, state="TX").federal_filing_required  # and $600 for 2026
    assert not form(2026, 60_000, 1, form_type="nec").federal_filing_required  # NEC: $2,000 from 2026


@pytest.mark.parametrize("state, dollars", [("AR", 2_500), ("DC", 600), ("MD", 600), ("MA", 600), ("MT", 600),
                                            ("NJ", 1_000), ("VT", 600), ("VA", 600)])
def test_lower_state_thresholds_or_more(state: str, dollars: int) -> None:
    above = form(2025, dollars * 100, 1, state=state)
    below = form(2025, dollars * 100 - 1, 1, state=state)
    assert (above.state_filing_required, above.federal_filing_required, above.status) == (True, False, "Ready")
    assert (below.state_filing_required, below.status) == (False, "Will not file")
    assert above.state == state and "at least" in above.state_rule


def test_illinois_needs_more_than_1000_and_more_than_3_transactions() -> None:
    assert form(2025, 100_001, 4, state="IL").state_filing_required
    assert not form(2025, 100_000, 40, state="IL").state_filing_required
    assert not form(2025, 900_000, 3, state="IL").state_filing_required


def test_md_vt_va_2026_file_at_600_with_the_2000_reading_shown_under_review() -> None:
    """The laws point at 26 U.S.C. 6041(a) ($2,000 from 2026) but neither the states nor Stripe confirm it: a form
    between $600 and $2,000 is filed, never dropped, and the page shows both readings."""
    for state in ("MD", "VT", "VA"):
        between = form(2026, 199_999, 5, state=state)
        assert (between.state_filing_required, between.state_under_review, between.state_other_reading_required) \
            == (True, True, False), state
        assert between.status == "Ready" and "rule under review" in between.state_rule and "$2,000" in between.state_rule
        assert not form(2026, 59_999, 5, state=state).state_filing_required
        assert form(2025, 199_999, 5, state=state).state_under_review is False
    assert form(2026, 60_000, 1, state="MA").state_filing_required  # MA's $600 is its own
    assert not form(2026, 60_000, 1, state="MA").state_under_review


def test_withholding_only_none_and_federal_states() -> None:
    above_federal = (2_000_100, 250)
    for state in ("AZ", "CO", "IN", "IA", "KY", "LA", "MN", "ND", "SC", "UT", "WV", "WI", "RI"):
        f = form(2025, *above_federal, state=state)
        assert not f.state_filing_required and "withheld" in f.state_rule and f.federal_filing_required
    for state in ("AK", "DE", "ID", "MI", "MO", "NE", "NV", "NH", "NM", "OH", "OK", "PA", "SD", "TX", "WA", "WY"):
        assert not form(2025, *above_federal, state=state).state_filing_required
    for state in ("CA", "NY", "FL", "GA"):
        assert form(2025, *above_federal, state=state).state_filing_required
        assert not form(2025, 1_999_900, 250, state=state).state_filing_required
    assert not form(2025, 10_000_000, 500, state=None).state_filing_required


def test_every_state_and_dc_has_a_sourced_rule_each_year() -> None:
    for rules in RULES.values():
        assert {form: len(table) for form, table in rules.states.items()} == {"k": 51, "nec": 51, "misc": 51}
        assert all(row["source"] for row in rule_rows(rules))
        assert rules.k.source and rules.nec.source


def test_later_years_reuse_the_newest_table_and_say_so() -> None:
    later = rules_for(2031)
    assert later.year == 2031 and later.k == RULES[max(RULES)].k and "indexed" in later.note


@pytest.mark.parametrize("year", [2021, 1999, 2032, 99999, -5])
def test_a_year_without_rules_is_one_line(year: int) -> None:
    with pytest.raises(NoRulesError) as caught:
        rules_for(year)
    assert "\n" not in str(caught.value) and f"no 1099 rules for {year}" in str(caught.value)
