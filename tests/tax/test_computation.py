"""The boxes of a form from transactions with known answers: which ones count, for how much, in which year and month."""
from __future__ import annotations

from core.tax import computation
from core.tax.computation import transaction_log, year_totals
from tests.tax.conftest import Mirror, ts


def totals(mirror: Mirror, account: str, year: int, method: computation.Method = "payments_including_fees"):
    return year_totals(mirror.store.cursor(), [account], year, method).get(account)


def test_year_and_month_come_from_available_on_not_the_charge_date(mirror: Mirror) -> None:
    """A charge on 31 December whose funds are available on 2 January is next year's, in January."""
    acct = mirror.account()
    mirror.direct_charge(acct, 10_000, ts(2025, 12, 31, 23, 59))  # available 31 Dec: 2025
    mirror.direct_charge(acct, 20_000, ts(2026, 1, 2))  # charged 31 Dec (created 2 days before), available in January
    mirror.destination_charge(acct, 40_000, ts(2026, 1, 1), payment_available_on=ts(2025, 12, 31, 12))
    last, this = totals(mirror, acct, 2025), totals(mirror, acct, 2026)
    assert (last.gross_amount, last.transaction_count, last.monthly_amounts[11]) == (10_000, 1, 10_000)
    # the destination charge counts by the platform charge's balance transaction (1 Jan), not the py_ payment's
    assert (this.gross_amount, this.transaction_count, this.monthly_amounts[0]) == (60_000, 2, 60_000)
    assert sum(this.monthly_amounts[1:]) == 0


def test_month_boundaries_are_utc(mirror: Mirror) -> None:
    acct = mirror.account()
    mirror.direct_charge(acct, 1_000, ts(2025, 3, 31, 23, 59))
    mirror.direct_charge(acct, 2_000, ts(2025, 4, 1, 0, 0))
    assert totals(mirror, acct, 2025).monthly_amounts[2:4] == [1_000, 2_000]


def test_refunds_are_not_deducted(mirror: Mirror) -> None:
    acct = mirror.account()
    mirror.direct_charge(acct, 10_000, ts(2025, 5, 1), refunded=10_000)
    mirror.direct_charge(acct, 5_000, ts(2025, 5, 2), refunded=2_500)
    got = totals(mirror, acct, 2025)
    assert (got.gross_amount, got.transaction_count) == (15_000, 2)
    assert all(r.kind == "direct charge" for r in transaction_log(mirror.store.cursor(), acct, 2025))


def test_non_usd_is_never_converted_at_the_balance_transactions_rate(mirror: Mirror) -> None:
    """€500.00 settled at 1.08 (a rate with Stripe's FX fee in it): without finance's rate for the day it stays
    €500.00, not converted, still one transaction (core/tax/fx.py; tests/tax/test_fx.py converts it)."""
    acct = mirror.account()
    mirror.direct_charge(acct, 50_000, ts(2025, 6, 10), currency="eur", settled=54_000, rate=1.08)
    mirror.destination_charge(acct, 10_000, ts(2025, 6, 11), currency="gbp", settled=12_700, rate=1.27)
    got = totals(mirror, acct, 2025)
    assert (got.gross_amount, got.transaction_count, got.unconverted) == (0, 2, {"eur": 50_000, "gbp": 10_000})
    log = transaction_log(mirror.store.cursor(), acct, 2025)
    eur = next(r for r in log if r.original_currency == "eur")
    assert (eur.original_amount, eur.exchange_rate, eur.settled_currency, eur.calculation_amount) == \
        (50_000, 1.08, "usd", None)


def test_an_amount_not_settled_in_usd_is_left_out_and_listed(mirror: Mirror) -> None:
    acct = mirror.account()
    mirror.direct_charge(acct, 1_000, ts(2025, 2, 1))
    charge = "ch_cad_settled"
    txn = mirror.bt(acct, charge, 3_000, ts(2025, 2, 3), currency="cad")
    mirror.put("charges", acct, mirror._charge(charge, 3_000, "cad", txn, "card"))
    got = totals(mirror, acct, 2025)
    assert (got.gross_amount, got.transaction_count, got.unconverted) == (1_000, 2, {"cad": 3_000})
    log = transaction_log(mirror.store.cursor(), acct, 2025)
    assert [r.calculation_amount for r in log] == [1_000, None]


def test_separate_charges_and_transfers_count_the_transfer(mirror: Mirror) -> None:
    acct = mirror.account()
    mirror.separate_charge_and_transfer(acct, charge_amount=10_000, transfer_amount=8_800, available_on=ts(2025, 7, 1))
    got = totals(mirror, acct, 2025)
    assert (got.gross_amount, got.transaction_count) == (8_800, 1)
    assert transaction_log(mirror.store.cursor(), acct, 2025)[0].kind == "separate charge and transfer"


def test_credit_transfers_count_and_debits_from_the_account_do_not(mirror: Mirror) -> None:
    """What a 1099-NEC reports for a service provider paid by transfers."""
    acct = mirror.account()
    for month in (1, 4, 9):
        mirror.credit_transfer(acct, 30_000, ts(2025, month, 15))
    mirror.account_debit(acct, 12_000, ts(2025, 10, 1))
    got = totals(mirror, acct, 2025)
    assert (got.gross_amount, got.transaction_count) == (90_000, 3)
    assert got.card_not_present_amount == 90_000  # no charge behind them: card not present
    assert {r.kind for r in transaction_log(mirror.store.cursor(), acct, 2025)} == {"credit transfer"}


def test_destination_charges_count_once_from_the_charge(mirror: Mirror) -> None:
    acct = mirror.account()
    mirror.destination_charge(acct, 10_000, ts(2025, 8, 1), app_fee=1_000, stripe_fee=320)
    log = transaction_log(mirror.store.cursor(), acct, 2025)
    assert [(r.kind, r.calculation_amount) for r in log] == [("destination charge", 10_000)]


def test_the_three_calculation_methods(mirror: Mirror) -> None:
    """Stripe's example: $100 charged, $5.20 of fees, $94.80 reaches the account and is paid out."""
    dest, direct = mirror.account(), mirror.account()
    mirror.destination_charge(dest, 10_000, ts(2025, 3, 1), app_fee=520, stripe_fee=320)
    mirror.direct_charge(direct, 10_000, ts(2025, 3, 1), fee=520)
    mirror.payout(dest, 9_480, ts(2025, 3, 8))
    mirror.payout(dest, 5_000, ts(2025, 4, 8), failed_on=ts(2025, 4, 10))
    for acct in (dest, direct):
        assert totals(mirror, acct, 2025, "payments_including_fees").gross_amount == 10_000
        assert totals(mirror, acct, 2025, "payments_excluding_fees").gross_amount == 9_480
    paid = totals(mirror, dest, 2025, "payouts_only")
    assert (paid.gross_amount, paid.transaction_count) == (9_480, 1)  # the failed payout came back
    assert paid.monthly_amounts[2:4] == [9_480, 0]
    assert totals(mirror, direct, 2025, "payouts_only") is None


def test_card_not_present_is_everything_but_card_present_and_interac_present(mirror: Mirror) -> None:
    acct = mirror.account()
    mirror.direct_charge(acct, 1_000, ts(2025, 1, 5), method="card")
    mirror.direct_charge(acct, 2_000, ts(2025, 1, 6), method="card_present")
    mirror.destination_charge(acct, 4_000, ts(2025, 1, 7), method="interac_present")
    mirror.destination_charge(acct, 8_000, ts(2025, 1, 8), method="us_bank_account")
    got = totals(mirror, acct, 2025)
    assert (got.gross_amount, got.card_not_present_amount, got.transaction_count) == (15_000, 9_000, 4)


def test_the_log_adds_up_to_the_boxes(mirror: Mirror) -> None:
    acct = mirror.account()
    mirror.direct_charge(acct, 1_000, ts(2025, 1, 5), method="card_present")
    mirror.destination_charge(acct, 2_000, ts(2025, 6, 6))
    mirror.credit_transfer(acct, 3_000, ts(2025, 11, 7))
    log = transaction_log(mirror.store.cursor(), acct, 2025)
    assert computation.totals_of(log) == totals(mirror, acct, 2025)
    assert [r.available_on.month for r in log] == [1, 6, 11]


def test_other_accounts_and_platform_charges_are_not_counted(mirror: Mirror) -> None:
    mine, other = mirror.account(), mirror.account()
    mirror.direct_charge(other, 99_999, ts(2025, 1, 5))
    mirror.destination_charge(other, 99_999, ts(2025, 1, 5))
    mirror.direct_charge(mine, 1_000, ts(2025, 1, 5))
    assert totals(mirror, mine, 2025).gross_amount == 1_000
    assert set(year_totals(mirror.store.cursor(), [mine, other], 2025)) == {mine, other}
    assert year_totals(mirror.store.cursor(), [], 2025) == {}


def test_tax_years_are_the_years_with_account_activity(mirror: Mirror) -> None:
    acct = mirror.account()
    mirror.direct_charge(acct, 1_000, ts(2024, 12, 5))
    mirror.direct_charge(acct, 1_000, ts(2026, 1, 5))
    assert computation.tax_years(mirror.store.cursor()) == [2026, 2024]


def test_excluding_fees_finds_the_payment_even_when_it_is_available_in_another_year(mirror: Mirror) -> None:
    acct = mirror.account()
    mirror.destination_charge(acct, 10_000, ts(2026, 1, 1), app_fee=1_000, payment_available_on=ts(2025, 12, 30))
    mirror.destination_charge(acct, 20_000, ts(2026, 2, 1), app_fee=2_000)
    got = totals(mirror, acct, 2026, "payments_excluding_fees")
    assert (got.gross_amount, got.transaction_count, got.unconverted) == (9_000 + 18_000, 2, {})
    assert totals(mirror, acct, 2025, "payments_excluding_fees") is None  # the payment counts with its charge
