"""A tax year's 1099 computation (core.tax.readiness.tax_year_report) on a demo mirror, per calculation method.

    .venv/bin/python benchmarks/tax_forms.py --scale large --db /tmp/tax_large.duckdb   # built once, reused
    .venv/bin/python benchmarks/tax_forms.py --scale medium

Without --db (or when the file does not exist yet) it builds the mirror in-process without HTTP
(benchmarks/common.py). Then, read-only: for the last full year and the current one, each method's
whole report (every US account's boxes from the balance transactions, readiness, state rules,
overrides), a cold first run and warm repeats; the transaction log of the account with the most
payments; and the Stripe import CSV of every form. Prints figures; asserts nothing (target: the year's
computation under 2 s on the large demo).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import build, line, rss_mb
from core.tax import computation, export, readiness


def timed(fn, *args):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn(*args)
    return result, (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="large", help="demo scale when building: small, medium, large")
    parser.add_argument("--db", type=Path, help="a mirror to reuse (built there first if missing)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: DuckDB's, one per core)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / f"tax_{args.scale}.duckdb"
        if not db.exists():
            build(args.scale, db, args.seed)
        con = duckdb.connect(str(db), read_only=True)
        if args.threads:
            con.execute(f"SET threads = {int(args.threads)}")
        cur = con.cursor()
        sizes = dict(cur.execute(
            "SELECT 'accounts', count(*) FROM connected_accounts UNION ALL "
            "SELECT 'us', count(*) FROM connected_accounts WHERE country = 'US' UNION ALL "
            "SELECT 'charges', count(*) FROM charges UNION ALL SELECT 'transfers', count(*) FROM transfers UNION ALL "
            "SELECT 'txn', count(*) FROM balance_transactions").fetchall())
        years = computation.tax_years(cur)[:2][::-1]
        print(f"{db}: {sizes['accounts']:,} accounts ({sizes['us']:,} US), {sizes['charges']:,} charges, "
              f"{sizes['transfers']:,} transfers, {sizes['txn']:,} balance transactions; years {years}; threads "
              f"{cur.execute('SELECT current_setting(?)', ['threads']).fetchone()[0]}")
        for year in years:
            for method in computation.METHODS:
                form = "nec" if method == "payouts_only" else "k"  # Stripe offers payouts only for NEC and MISC
                report, cold = timed(readiness.tax_year_report, cur, year, method, form)
                warm = [timed(readiness.tax_year_report, cur, year, method, form)[1] for _ in range(args.repeats)]
                summary = readiness.summarize(report)
                print(f"{year} {method:<24} cold {cold:7.0f} ms  " + line("warm", warm, width=5)
                      + f"   {len(report.forms):,} forms {summary.accounts_by_status}")
            report = readiness.tax_year_report(cur, year)
            top = max(report.forms, key=lambda f: f.transaction_count)
            log_rows, log_ms = timed(computation.transaction_log, cur, top.stripe_account_id, year)
            text, csv_ms = timed(export.import_csv, report.forms)
            print(f"{year} transaction log of {top.stripe_account_id} ({len(log_rows):,} rows) {log_ms:.0f} ms; "
                  f"import CSV of {len(report.forms):,} forms ({len(text) / 1e6:.1f} MB) {csv_ms:.0f} ms")
        print(f"median of all warm runs is the figure to quote; peak RSS {rss_mb():,.0f} MB")
        con.close()


if __name__ == "__main__":
    main()
