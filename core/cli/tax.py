"""`connect-ops tax-forms`: the Tax forms page's year on stdout, as Stripe's 1099 import CSV or as JSON.

    connect-ops tax-forms --year 2025 --format csv > forms-2025.csv      # every form, Stripe's import columns
    connect-ops tax-forms --year 2025 --format csv --form-type nec       # one form type's file (Stripe imports each alone)
    connect-ops tax-forms --year 2025 --format json --method payments_excluding_fees
    connect-ops tax-forms --year 2025 --filed                            # only the forms marked filed
    connect-ops tax-forms --year 2025 --corrections --format csv         # the correction import file

JSON is an array with one element per US account the platform files for (not Stripe) that has activity
in the year, above the threshold or not: stripe_account_id, form_type, gross_amount,
card_not_present_amount, monthly_amounts (12), transaction_count (amounts in USD cents),
federal_filing_required, state, state_filing_required, status, needs_attention, not_converted (amounts
without a rate, by currency, minor units), federal_income_tax_withheld (box 4: always 0),
federal_other_reading_required / state_under_review / state_other_reading_required (a rule read two ways:
2024's 1099-K, MD/VT/VA in 2026; null or false otherwise), filed_amounts (the figures frozen when the form
was marked filed, or null) and correction_needed.
It reads the mirror at CONNECT_OPS_DB read-only (the demo's in demo mode) and does not sync. The default
form type, method, rates file and state filer IDs are the platform's settings (CONNECT_OPS_TAX_*);
overrides and filings made on the page apply. A year without rules, a method Stripe does not offer for
the form, or a bad rates file is one line on stderr and exit 2.
"""
from __future__ import annotations

import argparse
import json
import sys

from core.cli.common import mirror_path, open_mirror, write_out
from core.settings import load_settings
from core.tax import computation, export, filing, readiness
from core.tax.fx import RatesError, load_rates
from core.tax.rules import FORM_TYPES, LATER_YEARS, RULES, NoRulesError, rules_for

HELP = __doc__.splitlines()[0]


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("tax-forms", help="1099-K / NEC / MISC per US account for a year (CSV import file or JSON)",
                            description=HELP)
    p.add_argument("--year", type=int, required=True,
                   help=f"tax year (rules for {min(RULES)}-{max(RULES)}; up to {max(RULES) + LATER_YEARS} the newest "
                        "rules are used and say so)")
    p.add_argument("--format", choices=("json", "csv"), default="json")
    p.add_argument("--method", choices=list(computation.METHODS),
                   help="calculation method (default: CONNECT_OPS_TAX_CALCULATION_METHOD)")
    p.add_argument("--form-type", choices=FORM_TYPES, help="CSV: only this form type's forms and columns")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--filed", action="store_true", help="only the forms marked filed (JSON has filed_amounts)")
    which.add_argument("--corrections", action="store_true",
                       help="only filed forms whose figures changed (CSV: Stripe's correction import file)")
    p.set_defaults(run=run)


def _refuse(text: str) -> int:
    print(f"connect-ops tax-forms: {text}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    method = args.method or settings.connect_ops_tax_calculation_method
    try:
        rules_for(args.year)
        rates = load_rates(settings.connect_ops_tax_fx_rates)
    except (NoRulesError, RatesError) as exc:
        return _refuse(str(exc))
    problem = readiness.method_problem(args.form_type or settings.connect_ops_tax_form_type, method)
    if problem:
        return _refuse(problem)
    con = open_mirror(mirror_path())
    try:
        cur = con.cursor()
        report = readiness.tax_year_report(cur, args.year, method, settings.connect_ops_tax_form_type, rates,
                                           settings.connect_ops_tax_state_ids)
        report = filing.with_filing(report, filing.filed_for_year(cur, args.year))
    finally:
        con.close()
    notes = [report.rules.note] if report.rules.note else []
    if report.rules.k.other_reading is not None:  # 2024: both readings are in the JSON
        notes.append(f"1099-K {args.year}: {report.rules.k.note}")
    for line in notes + report.platform_attention:
        print(f"connect-ops tax-forms: {line}", file=sys.stderr)
    forms = report.forms
    if args.filed:
        forms = [f for f in forms if f.filed_amounts is not None]
    elif args.corrections:
        forms = filing.corrections(forms)
    if args.format == "csv":
        text = export.import_csv(forms, args.form_type)
    else:
        text = json.dumps([form.record() for form in forms], indent=1) + "\n"
    write_out(text)
    return 0
