"""Accounts list latency (core.support.accounts.accounts_page) over a mix of filter and sort combinations.

    .venv/bin/python benchmarks/accounts_list.py --scale medium                  # build a mirror, then measure
    .venv/bin/python benchmarks/accounts_list.py --scale large --db /tmp/large.duckdb   # built once, reused

Without --db (or when the --db file does not exist yet) it builds the mirror in-process, without HTTP:
the emulator's seed (core.emulator.seed.generate) is rendered object by object exactly as the API
would return it (core.emulator.objects.render) and written with Store.upsert_json, scope by scope, in
minutes instead of the ~25 minutes a full sync of the large demo takes. Events are left out (the list
does not read them). The file is opened read-only for the measurement.

Prints p50/p95/max in ms for a cold first pass and warm repeats, overall and per combination, the spread
of per-pass medians (noise), and the first page after the mirror changed (the per-account figures are
summed again then; core/support/accounts.py caches them per data version and minute). Asserts nothing
(target: p95 < 300 ms at large scale).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import build, line, rss_mb  # noqa: E402
from core.support import accounts
from core.support.accounts import AccountFilters, accounts_page

def combinations(cur: duckdb.DuckDBPyConnection) -> list[tuple[str, AccountFilters]]:
    """What people click: the default view, each filter, sorts on every column, deep pages."""
    meta = cur.execute("SELECT raw->>'$.metadata.signup_channel' FROM connected_accounts "
                       "WHERE raw->>'$.metadata.signup_channel' IS NOT NULL LIMIT 1").fetchone()
    user = cur.execute("SELECT raw->>'$.metadata.platform_user_id' FROM connected_accounts ORDER BY id LIMIT 1").fetchone()
    F = AccountFilters
    mix = [
        ("default", F()),
        ("restricted", F(status=("restricted", "restricted_soon"))),
        ("country US", F(country=("US",))),
        ("JP express", F(country=("JP",), type=("express",))),
        ("past due", F(requirements=("past_due",))),
        ("pending verif.", F(requirements=("pending_verification", "eventually_due"))),
        ("failed payouts", F(failed_payouts=True)),
        ("open disputes", F(open_disputes=True)),
        ("negative bal.", F(negative_balance=True)),
        ("metadata key", F(metadata_key="signup_channel", metadata_value=meta[0] if meta else "web")),
        ("metadata id", F(metadata_key="platform_user_id", metadata_value=user[0] if user else "usr_1")),
        ("period 365", F(period_days=365, sort="volume")),
        ("period 7", F(period_days=7, sort="volume", descending=False)),
        ("deep page", F(page=20, page_size=100)),
        ("page size 250", F(page_size=250, sort="business_name", descending=False)),
        ("combined", F(status=("enabled",), country=("US", "GB"), open_disputes=True, sort="balance")),
    ]
    mix += [(f"sort {key}", F(sort=key)) for key in ("status", "business_name", "id", "country", "type", "balance",
                                                     "volume", "requirements_due", "deadline", "failed_payouts",
                                                     "open_disputes", "last_charge")]
    return mix


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="medium", help="demo scale when building: small, medium, large")
    parser.add_argument("--db", type=Path, help="a mirror to reuse (built there first if missing)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=5, help="warm passes over the mix")
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: DuckDB's, one per core)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / f"accounts_{args.scale}.duckdb"
        if not db.exists():
            build(args.scale, db, args.seed)
        con = duckdb.connect(str(db), read_only=True)
        if args.threads:
            con.execute(f"SET threads = {int(args.threads)}")
        cur = con.cursor()
        sizes = dict(cur.execute("SELECT 'accounts', count(*) FROM connected_accounts UNION ALL "
                                 "SELECT 'charges', count(*) FROM charges UNION ALL "
                                 "SELECT 'balance_transactions', count(*) FROM balance_transactions").fetchall())
        mix = combinations(cur)
        print(f"{db}: {sizes['accounts']:,} accounts, {sizes['charges']:,} charges, "
              f"{sizes['balance_transactions']:,} balance transactions; {len(mix)} combinations, "
              f"threads {cur.execute('SELECT current_setting(?)', ['threads']).fetchone()[0]}")

        cold: list[float] = []
        warm: dict[str, list[float]] = {}
        totals: dict[str, int] = {}
        for attempt in range(1 + args.repeats):
            for label, filters in mix:
                started = time.perf_counter()
                page = accounts_page(cur, filters)
                ms = (time.perf_counter() - started) * 1000
                totals[label] = page.total
                if attempt == 0:
                    cold.append(ms)
                else:
                    warm.setdefault(label, []).append(ms)
        print(line("cold pass", cold))
        everything = [v for values in warm.values() for v in values]
        print(line("warm overall", everything))
        passes = [statistics.median([values[i] for values in warm.values()]) for i in range(args.repeats)]
        print(f"{'':<16} p50 per warm pass: {', '.join(f'{p:.1f}' for p in passes)} ms "
              f"(noise: spread {max(passes) - min(passes):.1f} ms)")
        for label, values in warm.items():
            print(line(label, values) + f"   {totals[label]:,} accounts")
        refresh: list[float] = []
        for _ in range(args.repeats):  # the first page after the mirror changed: figures summed again
            accounts._FIGURES.clear()
            started = time.perf_counter()
            accounts_page(cur, AccountFilters())
            refresh.append((time.perf_counter() - started) * 1000)
        print(line("after a change", refresh) + "   (per-account figures recomputed, then cached)")
        print(f"peak RSS {rss_mb():,.0f} MB")
        con.close()


if __name__ == "__main__":
    main()
