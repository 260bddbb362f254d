"""`connect-ops tax-forms`: the Tax forms page's year on stdout, as Stripe's 1099 import CSV or as JSON.

    connect-ops tax-forms --year 2025 --format csv > forms-2025.csv      # every form, Stripe's import columns
    connect-ops tax-forms --year 2025 --format csv --form-type nec       # one form type's file (Stripe imports each alone)
    connect-ops tax-forms --year 2025 --format json --method payouts_only

JSON is an array with one element per US account the platform files for (not Stripe) that has activity
in the year, above the threshold or not: stripe_account_id, form_type, gross_amount,
card_not_present_amount, monthly_amounts (12), transaction_count (amounts in USD cents),
federal_filing_required, state, state_filing_required, status, needs_attention. It reads the mirror at
CONNECT_OPS_DB read-only (the demo's in demo mode) and does not sync. The default form type and method
are the platform's (CONNECT_OPS_TAX_FORM_TYPE, CONNECT_OPS_TAX_CALCULATION_METHOD); overrides set on
the page apply.
"""
from __future__ import annotations

import argparse
import json
import sys

from core.cli.common import mirror_path, open_mirror, write_out
from core.settings import load_settings
from core.tax import computation, export, readiness
from core.tax.rules import RULES

HELP = __doc__.splitlines()[0]


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("tax-forms", help="1099-K / 1099-NEC per US account for a year (CSV import file or JSON)",
                            description=HELP)
    p.add_argument("--year", type=int, required=True, help=f"tax year (rules for {min(RULES)}-{max(RULES)}; later "
                                                            "years use the newest rules and say so)")
    p.add_argument("--format", choices=("json", "csv"), default="json")
    p.add_argument("--method", choices=list(computation.METHODS),
                   help="calculation method (default: CONNECT_OPS_TAX_CALCULATION_METHOD)")
    p.add_argument("--form-type", choices=("k", "nec"), help="CSV: only this form type's forms and columns")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.year < min(RULES):
        print(f"connect-ops tax-forms: no 1099 rules for {args.year} (the tables start in {min(RULES)})",
              file=sys.stderr)
        return 2
    con = open_mirror(mirror_path())
    try:
        report = readiness.tax_year_report(con.cursor(), args.year,
                                           args.method or settings.connect_ops_tax_calculation_method,
                                           settings.connect_ops_tax_form_type)
    finally:
        con.close()
    if report.rules.note:
        print(f"connect-ops tax-forms: {report.rules.note}", file=sys.stderr)
    if args.format == "csv":
        text = export.import_csv(report.forms, args.form_type)
    else:
        text = json.dumps([form.record() for form in report.forms], indent=1) + "\n"
    write_out(text)
    return 0
