"""Who gets a form and whether it can be filed, in Stripe's words, read from the accounts' Stripe objects."""
from __future__ import annotations

from core.tax.readiness import payees, summarize, tax_year_report
from tests.tax.conftest import Mirror, many_direct_charges, ts

ABOVE_2025 = [10_000] * 201  # $20,100.00 in 201 payments: above $20,000 and 200


def report(mirror: Mirror, year: int = 2025, form_type: str = "k"):
    return tax_year_report(mirror.store.cursor(), year, "payments_including_fees", form_type)  # type: ignore[arg-type]


def form_of(mirror: Mirror, account: str, year: int = 2025):
    return next(f for f in report(mirror, year).forms if f.stripe_account_id == account)


def test_federal_count_threshold_end_to_end(mirror: Mirror) -> None:
    above, below = mirror.account(state="TX"), mirror.account(state="TX")
    many_direct_charges(mirror, above, ABOVE_2025, ts(2025, 5, 1))
    many_direct_charges(mirror, below, [11_000] * 200, ts(2025, 5, 1))  # $22,000.00 but only 200 payments
    assert (form_of(mirror, above).federal_filing_required, form_of(mirror, above).status) == (True, "Ready")
    assert (form_of(mirror, below).federal_filing_required, form_of(mirror, below).status) == (False, "Will not file")


def test_missing_tin_blocks_filing(mirror: Mirror) -> None:
    acct = mirror.account(tin=False, state="NJ", postal="08401")
    many_direct_charges(mirror, acct, ABOVE_2025, ts(2025, 5, 1))
    got = form_of(mirror, acct)
    assert (got.status, got.needs_attention, got.payee.tin) == ("Needs attention", ["TIN missing"], "missing")


def test_missing_address_blocks_filing(mirror: Mirror) -> None:
    no_street, no_zip = mirror.account(line1=None), mirror.account(postal=None, line1="  ")
    for acct in (no_street, no_zip):
        many_direct_charges(mirror, acct, ABOVE_2025, ts(2025, 5, 1))
        assert (form_of(mirror, acct).status, form_of(mirror, acct).needs_attention) == ("Needs attention", ["Address"])


def test_missing_name_and_several_reasons_in_stripes_order(mirror: Mirror) -> None:
    acct = mirror.account(name=None, tin=False, city=None)
    many_direct_charges(mirror, acct, ABOVE_2025, ts(2025, 5, 1))
    assert form_of(mirror, acct).needs_attention == ["Address", "Business name", "TIN missing"]


def test_a_persons_tin_needs_more_than_the_last_4_digits(mirror: Mirror) -> None:
    full = mirror.account(business_type="individual", state="TX")
    last4 = mirror.account(business_type="individual", state="TX", last4_only=True)
    none = mirror.account(business_type="individual", state="TX", tin=False)
    for acct in (full, last4, none):
        many_direct_charges(mirror, acct, ABOVE_2025, ts(2025, 5, 1))
    assert (form_of(mirror, full).status, form_of(mirror, full).payee.tin) == ("Ready", "ssn")
    assert form_of(mirror, full).payee.name == "Ada Lovelace"
    assert (form_of(mirror, last4).needs_attention, form_of(mirror, last4).payee.tin) == (["TIN missing"], "ssn_last4")
    assert form_of(mirror, none).needs_attention == ["TIN missing"]


def test_incomplete_details_do_not_matter_below_every_threshold(mirror: Mirror) -> None:
    acct = mirror.account(tin=False, line1=None, state="TX")
    mirror.direct_charge(acct, 50_000, ts(2025, 5, 1))
    got = form_of(mirror, acct)
    assert (got.status, got.needs_attention, got.missing) == ("Will not file", [], ["Address", "TIN missing"])


def test_accounts_whose_fees_payer_is_account_are_filed_by_stripe(mirror: Mirror) -> None:
    ours, stripes = mirror.account(), mirror.account(fees_payer="account")
    many_direct_charges(mirror, stripes, ABOVE_2025, ts(2025, 5, 1))
    mirror.direct_charge(ours, 1_000, ts(2025, 5, 1))
    got = report(mirror)
    assert [f.stripe_account_id for f in got.forms] == [ours]
    assert [(f.stripe_account_id, f.gross_amount) for f in got.filed_by_stripe] == [(stripes, 2_010_000)]
    assert summarize(got).accounts_by_status["Filed by Stripe"] == 1


def test_only_us_accounts_with_activity_in_the_year(mirror: Mirror) -> None:
    us, quiet, foreign = mirror.account(), mirror.account(), mirror.account(country="CA", state="ON")
    mirror.direct_charge(us, 1_000, ts(2025, 5, 1))
    mirror.direct_charge(quiet, 1_000, ts(2024, 5, 1))
    mirror.direct_charge(foreign, 1_000, ts(2025, 5, 1))
    assert set(payees(mirror.store.cursor())) == {us, quiet}
    assert [f.stripe_account_id for f in report(mirror).forms] == [us]


def test_summary_counts_forms_totals_and_blocks(mirror: Mirror) -> None:
    ready, blocked, small = mirror.account(state="TX"), mirror.account(state="TX", tin=False), mirror.account()
    many_direct_charges(mirror, ready, ABOVE_2025, ts(2025, 5, 1))
    many_direct_charges(mirror, blocked, ABOVE_2025, ts(2025, 6, 1))
    mirror.direct_charge(small, 100, ts(2025, 7, 1))
    got = summarize(report(mirror))
    assert got.by_type_and_status == {"1099-K": {"Ready": 1, "Needs attention": 1, "Will not file": 1}}
    assert got.totals_to_file == {"1099-K": 4_020_000}
    assert (got.blocked, got.blocked_by_reason["TIN missing"]) == (1, 1)


def test_the_platform_default_form_type(mirror: Mirror) -> None:
    acct = mirror.account(state="TX")
    mirror.credit_transfer(acct, 60_000, ts(2025, 3, 1))
    k = report(mirror, form_type="k").forms[0]
    nec = report(mirror, form_type="nec").forms[0]
    assert (k.form_type, k.status) == ("k", "Will not file")
    assert (nec.form_type, nec.federal_filing_required, nec.status, nec.form_type_overridden) == \
        ("nec", True, "Ready", False)
    assert "1099-NEC" in nec.state_rule
