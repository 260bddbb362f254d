"""Non-USD payments: converted with finance's rate of the day, never dropped, never with the balance transaction's
rate (it has Stripe's FX fee in it); a bad rates file gets one line. Sole proprietors file with the representative's SSN.

The mirror's balance transactions are created two days before they are available (tests/tax/conftest.py), so a
payment available on 10 June is converted with the rate of 8 June."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from core.tax.computation import transaction_log, year_totals
from core.tax.fx import RatesError, load_rates, parse_rates
from core.tax.readiness import tax_year_report
from tests.tax.conftest import Mirror, many_direct_charges, ts

RATES = """date,currency,rate
2025-06-08,eur,1.0850
2025-06-09,gbp,1.2712
2025-03-01,jpy,0.0067
2025-02-01,cad,0.7111
"""


def test_each_payment_is_converted_with_the_rate_of_its_day(mirror: Mirror) -> None:
    """€500.00 at 1.0850 = $542.50 (not the balance transaction's 1.08: $540.00); £100.00 at 1.2712 = $127.12;
    ¥10,000 (zero-decimal) at 0.0067 = $67.00."""
    acct = mirror.account()
    mirror.direct_charge(acct, 50_000, ts(2025, 6, 10), currency="eur", settled=54_000, rate=1.08)
    mirror.destination_charge(acct, 10_000, ts(2025, 6, 11), currency="gbp", settled=12_700, rate=1.27)
    mirror.direct_charge(acct, 10_000, ts(2025, 3, 3), currency="jpy", settled=6_690, rate=0.00669)
    rates = parse_rates(RATES)
    got = year_totals(mirror.store.cursor(), [acct], 2025, rates=rates)[acct]
    assert (got.gross_amount, got.monthly_amounts[5], got.monthly_amounts[2], got.transaction_count, got.unconverted) \
        == (54_250 + 12_712 + 6_700, 54_250 + 12_712, 6_700, 3, {})
    log = transaction_log(mirror.store.cursor(), acct, 2025, rates=rates)
    eur = next(r for r in log if r.original_currency == "eur")
    assert (eur.calculation_amount, eur.rate_to_usd, eur.exchange_rate) == (54_250, Decimal("1.0850"), 1.08)


def test_excluding_fees_takes_the_fees_from_the_converted_payment(mirror: Mirror) -> None:
    acct = mirror.account()
    mirror.direct_charge(acct, 50_000, ts(2025, 6, 10), currency="eur", settled=54_000, rate=1.08, fee=1_600)
    got = year_totals(mirror.store.cursor(), [acct], 2025, "payments_excluding_fees", parse_rates(RATES))[acct]
    assert got.gross_amount == 54_250 - 1_600


def test_a_rate_of_another_day_does_not_count(mirror: Mirror) -> None:
    acct = mirror.account()
    mirror.direct_charge(acct, 50_000, ts(2025, 6, 11), currency="eur", settled=54_000, rate=1.08)  # created 9 June
    got = year_totals(mirror.store.cursor(), [acct], 2025, rates=parse_rates(RATES))[acct]
    assert (got.gross_amount, got.unconverted, got.transaction_count) == (0, {"eur": 50_000}, 1)


def test_a_eur_only_account_over_the_line_with_and_without_a_rate(mirror: Mirror) -> None:
    """201 payments of €100.00 on 8 June at 1.0850: $21,808.50 and 201 payments, over $20,000 and 200. Without
    the rate it is not dropped: Needs attention, Exchange rate missing, €20,100.00 shown."""
    acct = mirror.account(state="TX")
    many_direct_charges(mirror, acct, [10_000] * 201, ts(2025, 6, 10), currency="eur", settled_rate=1.08)
    bare = next(f for f in tax_year_report(mirror.store.cursor(), 2025).forms if f.stripe_account_id == acct)
    assert (bare.status, bare.needs_attention, bare.unconverted, bare.gross_amount, bare.transaction_count) == \
        ("Needs attention", ["Exchange rate missing"], {"eur": 2_010_000}, 0, 201)
    rated = next(f for f in tax_year_report(mirror.store.cursor(), 2025, rates=parse_rates(RATES)).forms
                 if f.stripe_account_id == acct)
    assert (rated.status, rated.federal_filing_required, rated.gross_amount, rated.unconverted) == \
        ("Ready", True, 201 * 10_850, {})


def test_not_required_still_wins_over_a_missing_rate(mirror: Mirror) -> None:
    from core.tax.readiness import _status

    assert _status(False, ["Exchange rate missing"], "NOT_REQUIRED", True) == "Will not file"
    assert _status(False, ["Exchange rate missing"], "DEFAULT", True) == "Needs attention"


@pytest.mark.parametrize("text, words", [
    ("day,currency,rate\n2025-01-01,eur,1.1\n", "header"),
    ("date,currency,rate\n2025-13-01,eur,1.1\n", "line 2: '2025-13-01' is not a date"),
    ("date,currency,rate\n2025-01-01,euro,1.1\n", "line 2: 'euro' is not a three-letter currency code"),
    ("date,currency,rate\n2025-01-01,eur,-1\n", "line 2: the rate must be between"),
    ("date,currency,rate\n2025-01-01,eur,nan\n", "line 2: the rate must be between"),
    ("date,currency,rate\n2025-01-01,eur,abc\n", "line 2: 'abc' is not a number"),
    ("date,currency,rate\n2025-01-01,usd,1\n", "USD needs no rate"),
    ("date,currency,rate\n2025-01-01,eur,1.1\n2025-01-01,EUR,1.2\n", "line 3: a second, different rate"),
    ("date,currency,rate\n2025-01-01,eur\n", "expected date,currency,rate"),
])
def test_a_bad_rates_file_is_one_line(text: str, words: str) -> None:
    with pytest.raises(RatesError) as caught:
        parse_rates(text, "rates.csv")
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_the_setting_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rates.csv"
    path.write_text(RATES, encoding="utf-8")
    rates = load_rates(path)
    assert rates.by_day[(date(2025, 6, 8), "eur")] == Decimal("1.0850") and len(rates) == 4
    assert len(load_rates(None)) == 0
    with pytest.raises(RatesError, match="no such file"):
        load_rates(tmp_path / "missing.csv")


def test_a_sole_proprietor_files_with_the_representatives_ssn(mirror: Mirror) -> None:
    """Stripe uses the representative's SSN for a sole proprietorship or single-member LLC without an EIN: no
    'TIN missing'. A multi-member LLC without an EIN, or a sole proprietor Stripe still asks a TIN of, is missing."""
    sole = mirror.account(tin=False, structure="sole_proprietorship", state="TX")
    smllc = mirror.account(tin=False, structure="single_member_llc", state="TX")
    multi = mirror.account(tin=False, structure="multi_member_llc", state="TX")
    asked = mirror.account(tin=False, structure="sole_proprietorship", state="TX", due=("representative.id_number",))
    for acct in (sole, smllc, multi, asked):
        many_direct_charges(mirror, acct, [10_000] * 201, ts(2025, 5, 1))
    forms = {f.stripe_account_id: f for f in tax_year_report(mirror.store.cursor(), 2025).forms}
    assert [(forms[a].payee.tin, forms[a].status) for a in (sole, smllc, multi, asked)] == [
        ("representative_ssn", "Ready"), ("representative_ssn", "Ready"), ("missing", "Needs attention"),
        ("missing", "Needs attention")]
