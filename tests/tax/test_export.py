"""Stripe's 1099 import CSV: its columns, dollars with cents, leading zeros kept; the table and the log files."""
from __future__ import annotations

import csv
import io

from core.tax import export
from core.tax.computation import transaction_log
from core.tax.readiness import tax_year_report
from tests.tax.conftest import Mirror, many_direct_charges, ts

EXPECTED_COLUMNS = [
    "stripe_account_id", "form_type", "filing_requirement", "payee_name_line_1", "payee_address_line_1",
    "payee_address_line_2", "payee_city", "payee_region", "payee_postal_code", "payee_country",
    "january_amount", "february_amount", "march_amount", "april_amount", "may_amount", "june_amount", "july_amount",
    "august_amount", "september_amount", "october_amount", "november_amount", "december_amount",
    "nonemployee_compensation", "other_income", "federal_income_tax_withheld", "state_filer_id", "state_income",
    "state_tax_withheld",
]
TAIL = ["federal_income_tax_withheld", "state_filer_id", "state_income", "state_tax_withheld"]


def rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    return list(reader.fieldnames or []), list(reader)


def test_dollars_with_cents() -> None:
    assert [export.dollars(c) for c in (0, 5, 99, 100, 123_456, -5, 2_000_001)] == \
        ["0.00", "0.05", "0.99", "1.00", "1234.56", "-0.05", "20000.01"]


def test_import_csv_columns_and_values(mirror: Mirror) -> None:
    acct = mirror.account(state="MA", city="Cambridge", postal="02139", line1="1 Kendall Sq", name="Widget Co")
    mirror.direct_charge(acct, 123_45, ts(2025, 1, 15))
    mirror.direct_charge(acct, 1_000_00, ts(2025, 12, 31))
    mirror.direct_charge(acct, 5, ts(2026, 1, 1))  # next year's
    provider = mirror.account(state="TX", postal="07302")
    mirror.credit_transfer(provider, 2_500_00, ts(2025, 6, 1))
    report = tax_year_report(mirror.store.cursor(), 2025)
    header, table = rows(export.import_csv(report.forms))
    assert header == EXPECTED_COLUMNS
    ma = next(r for r in table if r["stripe_account_id"] == acct)
    assert {k: ma[k] for k in EXPECTED_COLUMNS[:10]} == {
        "stripe_account_id": acct, "form_type": "k", "filing_requirement": "DEFAULT", "payee_name_line_1": "Widget Co",
        "payee_address_line_1": "1 Kendall Sq", "payee_address_line_2": "", "payee_city": "Cambridge",
        "payee_region": "MA", "payee_postal_code": "02139", "payee_country": "US"}
    assert [ma[c] for c in EXPECTED_COLUMNS[10:22]] == ["123.45"] + ["0.00"] * 10 + ["1000.00"]
    assert ma["nonemployee_compensation"] == "" and ma["other_income"] == ""
    # MA's $600: its state boxes carry the gross; box 4 is 0 (nothing withheld); no MA number is needed
    assert [ma[c] for c in TAIL] == ["0.00", "", "1123.45", "0.00"]
    raw = export.import_csv(report.forms)
    assert ",02139," in raw and ",07302," in raw  # the text itself, not a number a reader might reformat


def test_nec_rows_carry_box_1_and_each_type_has_its_own_file(mirror: Mirror) -> None:
    provider = mirror.account(state="TX")
    mirror.credit_transfer(provider, 2_500_00, ts(2025, 6, 1))
    mirror.credit_transfer(provider, 10_01, ts(2025, 7, 1))
    report = tax_year_report(mirror.store.cursor(), 2025, default_form_type="nec")
    _, table = rows(export.import_csv(report.forms))
    assert (table[0]["form_type"], table[0]["nonemployee_compensation"], table[0]["june_amount"]) == ("nec", "2510.01", "")
    header, nec_only = rows(export.import_csv(report.forms, "nec"))
    assert header == EXPECTED_COLUMNS[:10] + ["nonemployee_compensation", *TAIL] and len(nec_only) == 1
    header, k_only = rows(export.import_csv(report.forms, "k"))
    assert header == EXPECTED_COLUMNS[:22] + TAIL and k_only == []


def test_misc_rows_carry_box_3(mirror: Mirror) -> None:
    provider = mirror.account(state="AR")
    mirror.credit_transfer(provider, 2_500_00, ts(2025, 6, 1))
    report = tax_year_report(mirror.store.cursor(), 2025, default_form_type="misc")
    header, table = rows(export.import_csv(report.forms, "misc"))
    assert header == EXPECTED_COLUMNS[:10] + ["other_income", *TAIL]
    assert (table[0]["form_type"], table[0]["other_income"], table[0]["state_income"]) == ("misc", "2500.00", "2500.00")


def test_state_filer_ids_come_from_the_setting_and_missing_ones_need_attention(mirror: Mirror) -> None:
    """MD wants the Maryland Central Registration Number on a 1099-K; without it the platform needs attention."""
    acct = mirror.account(state="MD")
    mirror.direct_charge(acct, 70_000, ts(2025, 3, 1))
    bare = tax_year_report(mirror.store.cursor(), 2025)
    assert bare.platform_attention == ["Needs attention: no state filer ID for MD (Maryland Central Registration "
                                       "Number) for 1 1099-K form: set it in CONNECT_OPS_TAX_STATE_IDS"]
    report = tax_year_report(mirror.store.cursor(), 2025, state_ids={"MD": "12345678"})
    assert report.platform_attention == []
    _, table = rows(export.import_csv(report.forms))
    assert (table[0]["state_filer_id"], table[0]["state_income"]) == ("12345678", "700.00")


def test_formula_like_names_are_inert_in_every_file(mirror: Mirror) -> None:
    acct = mirror.account(name="=HYPERLINK(\"https://phish.example\")")
    many_direct_charges(mirror, acct, [100], ts(2025, 2, 1))
    report = tax_year_report(mirror.store.cursor(), 2025)
    _, table = rows(export.import_csv(report.forms))
    assert table[0]["payee_name_line_1"].startswith("'=")


def test_table_and_log_files(mirror: Mirror) -> None:
    acct = mirror.account()
    mirror.direct_charge(acct, 50_000, ts(2025, 6, 10), currency="eur", settled=54_000, rate=1.08)
    mirror.credit_transfer(acct, 1_00, ts(2025, 7, 1))
    report = tax_year_report(mirror.store.cursor(), 2025)
    header, table = rows(export.table_csv(report.forms))
    assert header == list(export.TABLE_COLUMNS) and table[0]["gross_usd"] == "1.00" and table[0]["jun_usd"] == "0.00"
    assert table[0]["not_converted"] == "EUR €500.00" and table[0]["needs_attention"] == "Exchange rate missing"
    header, log = rows(export.log_csv(transaction_log(mirror.store.cursor(), acct, 2025)))
    assert header == list(export.LOG_COLUMNS)
    assert [(r["kind"], r["original_amount"], r["original_currency"], r["exchange_rate"], r["calculation_amount_usd"])
            for r in log] == [("direct charge", "500.00", "EUR", "1.08", "not converted"),
                              ("credit transfer", "1.00", "USD", "", "1.00")]
