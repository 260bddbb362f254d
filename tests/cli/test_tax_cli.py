"""`connect-ops tax-forms` as people run it: a subprocess reading a mirror, printing JSON or Stripe's import CSV."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from core.mirror.store import Store
from tests.cli.test_accounts_cli import connect_ops
from tests.tax.conftest import Mirror, many_direct_charges, ts
from tests.tax.test_export import EXPECTED_COLUMNS, TAIL

KEYS = {"stripe_account_id", "form_type", "gross_amount", "card_not_present_amount", "monthly_amounts",
        "transaction_count", "federal_filing_required", "state", "state_filing_required", "status", "needs_attention",
        "not_converted", "federal_income_tax_withheld", "filed_amounts", "correction_needed",
        "federal_other_reading_required", "state_under_review", "state_other_reading_required"}


@pytest.fixture(scope="module")
def mirror_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("taxcli") / "mirror.duckdb"
    with Store(path) as store:
        m = Mirror(store)
        ids = {"big": m.account(state="NJ", postal="07030", tin=False), "small": m.account(state="MA", postal="02139"),
               "stripe": m.account(fees_payer="account"), "quiet": m.account()}
        many_direct_charges(m, ids["big"], [10_000] * 201, ts(2025, 3, 1))
        m.direct_charge(ids["small"], 60_000, ts(2025, 12, 31), method="card_present")
        m.direct_charge(ids["stripe"], 60_000, ts(2025, 5, 1))
        m.direct_charge(ids["quiet"], 60_000, ts(2024, 5, 1))
    return path, ids


def test_json_has_one_element_per_account_filed_for_with_activity(mirror_file) -> None:
    path, ids = mirror_file
    done = connect_ops(path, "tax-forms", "--year", "2025", "--format", "json")
    assert done.returncode == 0, done.stderr
    forms = {f["stripe_account_id"]: f for f in json.loads(done.stdout)}
    assert set(forms) == {ids["big"], ids["small"]}
    assert all(set(f) == KEYS for f in forms.values())
    assert forms[ids["big"]] | {"monthly_amounts": None} == {
        "stripe_account_id": ids["big"], "form_type": "k", "gross_amount": 2_010_000, "card_not_present_amount": 2_010_000,
        "monthly_amounts": None, "transaction_count": 201, "federal_filing_required": True, "state": "NJ",
        "state_filing_required": True, "status": "Needs attention", "needs_attention": ["TIN missing"],
        "not_converted": {}, "federal_income_tax_withheld": 0, "filed_amounts": None, "correction_needed": False,
        "federal_other_reading_required": None, "state_under_review": False, "state_other_reading_required": None}
    small = forms[ids["small"]]
    assert small["monthly_amounts"] == [0] * 11 + [60_000] and small["card_not_present_amount"] == 0
    assert (small["status"], small["state_filing_required"], small["federal_filing_required"]) == ("Ready", True, False)


def test_csv_is_the_stripe_import_file(mirror_file) -> None:
    path, ids = mirror_file
    done = connect_ops(path, "tax-forms", "--year", "2025", "--format", "csv")
    assert done.returncode == 0, done.stderr
    reader = csv.DictReader(io.StringIO(done.stdout))
    table = {r["stripe_account_id"]: r for r in reader}
    assert reader.fieldnames == EXPECTED_COLUMNS and set(table) == {ids["big"], ids["small"]}
    assert (table[ids["small"]]["payee_postal_code"], table[ids["small"]]["december_amount"]) == ("02139", "600.00")
    done = connect_ops(path, "tax-forms", "--year", "2025", "--format", "csv", "--form-type", "nec",
                       "--method", "payouts_only")
    assert done.returncode == 0 and done.stdout.splitlines() == [",".join(EXPECTED_COLUMNS[:10] +
                                                                          ["nonemployee_compensation", *TAIL])]


@pytest.mark.parametrize("year", ["2019", "2021", "99999", "-1", "0"])
def test_a_year_without_rules_is_refused_in_one_line(mirror_file, year: str) -> None:
    path, _ = mirror_file
    done = connect_ops(path, "tax-forms", "--year", year)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"no 1099 rules for {int(year)}" in done.stderr and "2022" in done.stderr


def test_no_year_and_2022_and_a_method_stripe_does_not_offer(mirror_file) -> None:
    path, _ = mirror_file
    done = connect_ops(path, "tax-forms")
    assert done.returncode == 2 and "--year" in done.stderr
    done = connect_ops(path, "tax-forms", "--year", "2022")
    assert done.returncode == 0 and json.loads(done.stdout) == []
    done = connect_ops(path, "tax-forms", "--year", "2024")  # both readings of 2024's 1099-K, for corrections
    (quiet,) = json.loads(done.stdout)
    assert (quiet["gross_amount"], quiet["federal_filing_required"], quiet["federal_other_reading_required"]) == \
        (60_000, False, False) and "rule under review" in done.stderr
    done = connect_ops(path, "tax-forms", "--year", "2025", "--method", "payouts_only")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "1099-NEC and 1099-MISC only" in done.stderr


def test_filed_and_corrections(tmp_path: Path) -> None:
    """--filed lists the forms marked filed with their frozen figures; --corrections the ones whose boxes changed
    since, and as CSV Stripe's import rows with the new figures."""
    from core.actions import Context
    from core.auth import Actor, Role
    from core.tax import filing
    from core.tax.readiness import tax_year_report

    path = tmp_path / "mirror.duckdb"
    with Store(path) as store:
        m = Mirror(store)
        filed, other = m.account(state="MA", postal="02139"), m.account(state="MA", postal="02139")
        m.direct_charge(filed, 70_000, ts(2025, 3, 1))
        m.direct_charge(other, 80_000, ts(2025, 3, 1))
        report = tax_year_report(store.cursor(), 2025)
        filing.mark_filed(Context(store=store, api=None), Actor(email="cfo@corp.com", role=Role.FINANCE),  # type: ignore[arg-type]
                          report, "Filed with Stripe", account_ids=[filed])
        m.direct_charge(filed, 1_00, ts(2025, 12, 1))  # learned after filing
    done = connect_ops(path, "tax-forms", "--year", "2025", "--filed")
    assert done.returncode == 0, done.stderr
    (only,) = json.loads(done.stdout)
    assert (only["stripe_account_id"], only["filed_amounts"]["gross_amount"], only["gross_amount"],
            only["correction_needed"]) == (filed, 70_000, 70_100, True)
    done = connect_ops(path, "tax-forms", "--year", "2025", "--corrections", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [(r["stripe_account_id"], r["december_amount"], r["state_income"]) for r in rows] == \
        [(filed, "1.00", "701.00")]
    done = connect_ops(path, "tax-forms", "--year", "2025", "--filed", "--corrections")
    assert done.returncode == 2 and "not allowed with" in done.stderr


def test_the_rates_file_converts_and_a_bad_one_is_one_line(tmp_path: Path) -> None:
    """€500.00 available 10 June 2025 (created 8 June) at 1.0850 from the rates file: $542.50, not 1.08's $540.00."""
    import os
    import subprocess
    import sys

    path = tmp_path / "mirror.duckdb"
    with Store(path) as store:
        m = Mirror(store)
        acct = m.account(state="TX")
        m.direct_charge(acct, 50_000, ts(2025, 6, 10), currency="eur", settled=54_000, rate=1.08)
    rates = tmp_path / "rates.csv"
    rates.write_text("date,currency,rate\n2025-06-08,eur,1.0850\n", encoding="utf-8")

    def run(rates_path: Path) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "CONNECT_OPS_"))}
        env.update(CONNECT_OPS_DB=str(path), STRIPE_API_KEY="sk_test_cli_tax_rates_1",
                   CONNECT_OPS_TAX_FX_RATES=str(rates_path))
        return subprocess.run([sys.executable, "-c", "import sys; from core.cli import main; sys.exit(main())",
                               "tax-forms", "--year", "2025"], env=env, capture_output=True, text=True, timeout=120,
                              check=False)

    done = run(rates)
    assert done.returncode == 0, done.stderr
    (form,) = json.loads(done.stdout)
    assert (form["gross_amount"], form["not_converted"], form["needs_attention"]) == (54_250, {}, [])
    rates.write_text("date,currency,rate\n2025-06-08,eur,fast\n", encoding="utf-8")
    done = run(rates)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "'fast' is not a number" in done.stderr
    done = run(tmp_path / "none.csv")
    assert done.returncode == 2 and "no such file" in done.stderr
