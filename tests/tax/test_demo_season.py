"""The filing season's known answers on the demo platform (core/emulator/tax_demo_season.py), synced over HTTP.

Expectations are computed here from the emulator's own objects or written from the sources, not from our SQL."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from core.emulator.tax_demo_season import SEASON_ACCOUNTS
from core.tax import computation
from core.tax.fx import parse_rates
from core.tax.readiness import tax_year_report


def _last_full(cur) -> int:
    return computation.tax_years(cur)[1]


def _named(report) -> dict[str, object]:
    return {f.display_name: f for f in report.forms}


def test_every_season_case_is_on_the_demo(synced_store) -> None:
    cur = synced_store.cursor()
    assert {s["name"] for s in SEASON_ACCOUNTS} <= set(_named(tax_year_report(cur, _last_full(cur))))


def test_nc_between_600_and_the_federal_line_files_no_state_form(synced_store) -> None:
    cur = synced_store.cursor()
    nc = _named(tax_year_report(cur, _last_full(cur)))["Tar Heel Textiles"]
    assert 60_000 <= nc.gross_amount <= 2_000_000 and nc.state == "NC"
    assert (nc.state_filing_required, nc.federal_filing_required, nc.status) == (False, False, "Will not file")
    assert "same threshold as the IRS" in nc.state_rule


def test_nec_in_a_combined_filing_state_and_a_direct_filing_state(synced_store) -> None:
    cur = synced_store.cursor()
    forms = _named(tax_year_report(cur, _last_full(cur), default_form_type="nec"))
    ca, ma = forms["Sunset Studio Services"], forms["Back Bay Design Co."]
    for form in (ca, ma):
        assert form.form_type == "nec" and form.gross_amount >= 60_000 and form.federal_filing_required
    assert (ca.state_filing_required, ca.state_channel, ca.status) == (True, "CFSF", "Ready")
    assert (ma.state_filing_required, ma.state_channel, ma.status) == (True, "State Portal", "Ready")


def test_a_eur_only_account_over_the_line_with_and_without_a_rate(synced_store) -> None:
    """Without a rate: Needs attention, Exchange rate missing, the euros shown. With 1.0850 for every day of its
    payments (dates read from the charges): each payment converted and rounded to the cent, summed here."""
    cur = synced_store.cursor()
    year = _last_full(cur)
    bare = _named(tax_year_report(cur, year))["Alpen Imports"]
    assert (bare.status, bare.needs_attention, bare.gross_amount) == ("Needs attention", ["Exchange rate missing"], 0)
    charges = cur.execute(
        "SELECT c.amount, CAST(b.created AS DATE) FROM charges c JOIN balance_transactions b "
        "ON b.id = c.balance_transaction_id AND b.scope = c.scope WHERE c.scope = ? AND c.currency = 'eur' "
        "AND year(b.available_on) = ?", [bare.stripe_account_id, year]).fetchall()
    assert bare.unconverted == {"eur": sum(a for a, _ in charges)} and len(charges) == bare.transaction_count
    rates = parse_rates("date,currency,rate\n" + "".join(f"{d},eur,1.0850\n" for d in sorted({d for _, d in charges})))
    expected = sum(int((Decimal(a) * Decimal("1.0850")).quantize(Decimal(1), ROUND_HALF_UP)) for a, _ in charges)
    rated = _named(tax_year_report(cur, year, rates=rates))["Alpen Imports"]
    assert (rated.status, rated.gross_amount, rated.unconverted, rated.federal_filing_required) == \
        ("Ready", expected, {}, expected > 2_000_000 and len(charges) > 200)
    assert rated.federal_filing_required


def test_a_sole_proprietor_with_the_representatives_ssn_is_ready(synced_store) -> None:
    cur = synced_store.cursor()
    sole = _named(tax_year_report(cur, _last_full(cur)))["Prairie Fix-It"]
    assert (sole.payee.tin, sole.payee.structure, sole.status, sole.needs_attention) == \
        ("representative_ssn", "sole_proprietorship", "Ready", [])
