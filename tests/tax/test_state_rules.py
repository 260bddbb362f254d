"""The 1099-K, 1099-NEC and 1099-MISC state tables, 2022 and 2024's two readings, 1099-MISC by year, and the
calculation methods Stripe offers per form. Expectations are written out here from the sources (Stripe's three
state tables, the 2024 tax season; NCDOR; IRS notices; P.L. 119-21), not read from the code's tables."""
from __future__ import annotations

import pytest

from core.tax.readiness import method_problem
from core.tax.rules import RULES, rule_rows, rules_for, state_rule
from tests.tax.test_rules import form

# Stripe Docs, '1099-NEC form state requirements': states the IRS forwards the form to (CFSF), states filed directly.
NEC_CFSF = {"AR", "CA", "HI", "ID", "MO", "NJ", "OK"}
NEC_DIRECT = {"DE", "DC", "ME", "MA", "MT", "OR", "PA"}
MISC_CFSF = {"AR", "CA", "HI", "ID", "MI", "MO", "NJ", "NM", "OK"}
MISC_DIRECT = {"DE", "DC", "ME", "MA", "MT", "OR", "PA"}
STATE_NUMBERS_K = {"CT", "KS", "MD", "NC", "SC", "VT", "WI"}  # the "at least" list, all in Stripe's K table
ALLOWED_HOSTS = ("https://docs.stripe.com/", "https://www.irs.gov/", "https://www.law.cornell.edu/",
                 "https://www.ncdor.gov/")


def test_nc_1099k_follows_the_federal_threshold_and_is_due_31_march() -> None:
    """NCDOR: duplicates of what is filed with the IRS under 6050W, by 31 March. An NC account between $600 and
    the federal line files no state form; above the federal line it does."""
    between = form(2025, 150_000, 40, state="NC")
    assert (between.state_filing_required, between.federal_filing_required, between.status) == \
        (False, False, "Will not file")
    above = form(2025, 2_000_100, 201, state="NC")
    assert (above.state_filing_required, above.federal_filing_required) == (True, True)
    rule = state_rule(RULES[2025], "NC", "k")
    assert rule.due.month_day == (3, 31) and rule.url == "https://www.ncdor.gov/file-pay/guidance-information-reporting"


@pytest.mark.parametrize("state", sorted(NEC_CFSF | NEC_DIRECT))
def test_nec_states_that_take_the_form_file_at_the_irs_amount(state: str) -> None:
    above, below = form(2025, 60_000, 1, state=state, form_type="nec"), form(2025, 59_999, 1, state=state,
                                                                              form_type="nec")
    assert (above.state_filing_required, below.state_filing_required) == (True, False)
    assert above.state_channel == ("CFSF" if state in NEC_CFSF else "State Portal")
    assert above.state_channel in above.state_rule


def test_nec_in_a_combined_filing_state_and_a_direct_filing_state() -> None:
    """The known answers of the issue: CA through the IRS, MA filed with the state; CA's NEC no longer says no."""
    ca, ma = form(2025, 75_000, 3, state="CA", form_type="nec"), form(2025, 75_000, 3, state="MA", form_type="nec")
    assert (ca.state_filing_required, ca.state_channel, ca.status) == (True, "CFSF", "Ready")
    assert (ma.state_filing_required, ma.state_channel, ma.status) == (True, "State Portal", "Ready")
    for state in ("TX", "NY", "FL", "MD", "VT"):  # no NEC, or only if state tax was withheld (we withhold none)
        assert not form(2025, 75_000, 3, state=state, form_type="nec").state_filing_required, state


def test_nec_state_due_dates_and_numbers() -> None:
    nec = RULES[2025].states["nec"]
    assert nec["ID"].due.month_day == (2, 28) and nec["ID"].state_id == "Idaho Withholding Account Number"
    assert nec["PA"].state_id == "PA Employer Account ID" and nec["CA"].due.month_day is None
    assert {s for s, r in RULES[2025].states["k"].items() if r.state_id} == STATE_NUMBERS_K


@pytest.mark.parametrize("year, dollars", [(2022, 600), (2023, 600), (2024, 600), (2025, 600), (2026, 2_000)])
def test_1099_misc_threshold_by_year(year: int, dollars: int) -> None:
    assert form(year, dollars * 100, 1, state="TX", form_type="misc").federal_filing_required
    assert not form(year, dollars * 100 - 1, 1, state="TX", form_type="misc").federal_filing_required
    assert "1099-MISC" in form(year, dollars * 100, 1, form_type="misc").federal_rule


def test_1099_misc_state_table() -> None:
    misc = RULES[2025].states["misc"]
    assert {s for s, r in misc.items() if r.channel == "CFSF"} == MISC_CFSF
    assert {s for s, r in misc.items() if r.channel == "State Portal"} == MISC_DIRECT
    assert form(2025, 250_000, 1, state="AR", form_type="misc").state_filing_required  # AR: $2,500
    assert not form(2025, 249_999, 1, state="AR", form_type="misc").state_filing_required
    assert misc["MT"].due.month_day == (2, 28) and misc["OK"].state_id == "Oklahoma Withholding Account ID"


def test_2022_is_a_year_with_rules() -> None:
    """Notice 2023-10: 2022 keeps more than $20,000 and more than 200 transactions; NEC at $600."""
    assert form(2022, 2_000_001, 201, state="TX").federal_filing_required
    assert not form(2022, 2_000_001, 200, state="TX").federal_filing_required
    assert not form(2022, 2_000_000, 201, state="TX").federal_filing_required
    assert form(2022, 60_000, 1, form_type="nec").federal_filing_required
    assert "n-23-10" in rules_for(2022).k.url


def test_2024_shows_both_readings() -> None:
    """Timely 2024 filings used $5,000 (Notice 2024-85); OBBBA restored $20,000 and 200 retroactively."""
    mid = form(2024, 600_000, 12, state="TX")
    assert (mid.federal_filing_required, mid.federal_other_reading_required) == (True, False)
    assert "20,000" in mid.federal_other_reading and "200" in mid.federal_other_reading
    big = form(2024, 2_000_001, 201, state="TX")
    assert (big.federal_filing_required, big.federal_other_reading_required) == (True, True)
    assert form(2025, 600_000, 12, state="TX").federal_other_reading is None


def test_payouts_only_is_offered_for_nec_and_misc_only() -> None:
    """Stripe Docs, 'Choose a calculation method'."""
    assert method_problem("k", "payouts_only") is not None and "\n" not in method_problem("k", "payouts_only")
    assert method_problem("nec", "payouts_only") is None and method_problem("misc", "payouts_only") is None
    for method in ("payments_including_fees", "payments_excluding_fees"):
        assert all(method_problem(f, method) is None for f in ("k", "nec", "misc"))


ROWS = [(year, row) for year in sorted(RULES) for row in rule_rows(RULES[year])]


@pytest.mark.parametrize("year, row", ROWS, ids=[f"{y}-{r['applies_to']}" for y, r in ROWS])
def test_every_rules_row_has_a_source_and_a_url(year: int, row: dict[str, str]) -> None:
    assert row["source"].strip() and row["url"].startswith(ALLOWED_HOSTS), row
    if row["applies_to"].startswith("State 1099-NEC") or row["applies_to"].startswith("State 1099-MISC"):
        assert row["url"].endswith(("1099-NEC", "1099-MISC")), row


# Stripe Docs, '1099-K form state requirements' (2024 season), read row by row: how each state takes the form.
K_CHANNELS = {
    "State Portal": "AL CT DC FL GA IL ME MD MA MT NY NC OR TN VT VA",
    "CFSF": "AR CA HI KS MS NJ",
    "If State Withholding": "AZ CO IN IA KY LA MN ND RI SC UT WV WI",
    "No": "AK DE ID MI MO NE NV NH NM OH OK PA SD TX WA WY",
}
K_OWN_THRESHOLDS = {"AR": 2_500, "DC": 600, "MD": 600, "MA": 600, "MT": 600, "NJ": 1_000, "VT": 600, "VA": 600}
K_DUE = {"AL": (4, 30), "CT": (4, 30), "FL": (4, 30), "IA": (2, 15), "MT": (4, 1), "NY": (4, 30), "TN": (4, 30),
         "VA": (4, 30), "NC": (3, 31)}  # VT and MD: 30 days after / before the IRS date


@pytest.mark.parametrize("state", sorted(s for states in K_CHANNELS.values() for s in states.split()))
def test_each_1099k_state_row_reads_back_as_the_sources_say(state: str) -> None:
    rule = RULES[2025].states["k"][state]
    channel = next(c for c, states in K_CHANNELS.items() if state in states.split())
    assert rule.channel == channel
    if state in K_OWN_THRESHOLDS:
        assert (rule.kind, rule.threshold.amount) == ("threshold", K_OWN_THRESHOLDS[state] * 100)
    elif state == "IL":
        assert (rule.threshold.amount, rule.threshold.count) == (100_000, 3)
    elif channel in ("State Portal", "CFSF"):
        assert rule.kind == "federal"
    assert rule.due.month_day == K_DUE.get(state) and rule.due.days_from_irs == {"VT": 30, "MD": -30}.get(state)
    assert rule.url.startswith(ALLOWED_HOSTS) and rule.source
