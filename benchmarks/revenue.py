"""Revenue page latency: each query the page runs, on a mirror of the demo (large by default).

    .venv/bin/python benchmarks/revenue.py --scale large --db /tmp/large.duckdb   # built there once, reused
    .venv/bin/python benchmarks/revenue.py --db /tmp/large.duckdb --days 365      # a longer period

Without --db (or when the file does not exist yet) the mirror is built in-process without HTTP, as
benchmarks/accounts_list.py does (the seed rendered object by object and written with Store.upsert_json).
The mirror is attached read-only to an in-memory database, which holds the revenue cache
(core/revenue/cache.py) as the app's process does. Prints, in ms:

* the cache: its first build (once per process), a refresh when nothing changed (every new data version),
  and a refresh after --changed-percent of the charges and fees changed (as after an incremental sync);
* for the default view (the last --days days up to the mirror's last charge, by day, converted), what
  pages/revenue.py runs, in its order: each SQL query cold (the first render after a sync: the page
  caches each per data version) and warm, then the cuts computed in-process from the cached facts;
* the page's total. Asserts nothing (targets: each query < 150 ms, the page < 1 s).
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from core.revenue import balances, cache, economics, queries


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn: Callable[[], Any], repeats: int) -> tuple[Any, float, list[float]]:
    """The result, the first (cold) time and the repeats' times, in ms."""
    started = time.perf_counter()
    result = fn()
    cold = (time.perf_counter() - started) * 1000
    warm = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        warm.append((time.perf_counter() - started) * 1000)
    return result, cold, warm


def line(label: str, cold: float, warm: list[float]) -> str:
    median = statistics.median(warm) if warm else float("nan")
    flag = "" if cold < 150 else "  (over 150 ms)"
    return f"{label:<34} cold {cold:8.1f} ms   warm p50 {median:8.1f} ms   max {max(warm or [0]):8.1f} ms{flag}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="large", help="demo scale when building: small, medium, large")
    parser.add_argument("--db", type=Path, help="a mirror to reuse (built there first if missing)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--days", type=int, default=30, help="the period's length (default 30, the page's default)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: one per core)")
    parser.add_argument("--changed-percent", type=float, default=1.0,
                        help="share of charges and fees a simulated incremental sync changed (default 1)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / f"revenue_{args.scale}.duckdb"
        if not db.exists():
            from accounts_list import build

            build(args.scale, db, args.seed)
        con = duckdb.connect()
        con.execute("ATTACH ? AS mirror (READ_ONLY)", [str(db)])
        con.execute("USE mirror")
        if args.threads:
            con.execute(f"SET threads = {int(args.threads)}")
        cur = con  # one connection: USE is per connection, as in the CLI
        last = cur.execute("SELECT max(created)::DATE FROM charges").fetchone()[0]
        start = last - timedelta(days=args.days - 1)
        sizes = cur.execute("SELECT (SELECT count(*) FROM charges), (SELECT count(*) FROM balance_transactions), "
                            "(SELECT count(*) FROM application_fees), (SELECT count(*) FROM transfers)").fetchone()
        print(f"{db}: {sizes[0]:,} charges, {sizes[1]:,} balance transactions, {sizes[2]:,} application fees, "
              f"{sizes[3]:,} transfers; period {start} .. {last} ({args.days} days, and the {args.days} before), "
              f"threads {cur.execute('SELECT current_setting(?)', ['threads']).fetchone()[0]}")

        platform = queries.platform_currency(cur)
        started = time.perf_counter()
        cache.ensure(cur, platform)
        build = (time.perf_counter() - started) * 1000
        size = cur.execute("SELECT sum(memory_usage_bytes) / 1e6 FROM duckdb_memory() "
                           "WHERE tag = 'IN_MEMORY_TABLE'").fetchone()
        rows = cur.execute(f"SELECT (SELECT count(*) FROM {cache.FACTS}), (SELECT count(*) FROM {cache.DAILY})").fetchone()
        print(f"{'cache: first build':<34} {build:8.1f} ms   {rows[0]:,} object rows, {rows[1]:,} day rows, "
              f"{size[0] or 0:,.0f} MB in memory (once per process); peak RSS so far {rss_mb():,.0f} MB")
        _, cold, warm = timed(lambda: cache.ensure(cur, platform), args.repeats)
        print(line("cache: refresh, nothing changed", cold, warm))
        for name, table in (("changed_charges", "charges"), ("changed_fees", "application_fees")):
            cur.execute(f"CREATE OR REPLACE TABLE {cache.CACHE}.{name} AS SELECT id FROM {table} "
                        f"USING SAMPLE {args.changed_percent}% (bernoulli, 7)")
        cur.execute(f"CREATE OR REPLACE TABLE {cache.CACHE}.changed_covers AS SELECT NULL::VARCHAR AS id LIMIT 0")
        started = time.perf_counter()
        rewritten = cache.apply_changed(cur, platform)
        refresh = (time.perf_counter() - started) * 1000
        print(f"{'cache: refresh, ' + str(args.changed_percent) + '% changed':<34} {refresh:8.1f} ms   "
              f"{rewritten:,} rows recomputed and their days re-summed (finding them: marks + changed_* queries)")
        page_cold = 0.0
        facts, cold, warm = timed(lambda: queries.facts(cur, start, last), args.repeats)
        print(line("facts (period + previous)", cold, warm))
        page_cold += cold
        sql = [("seen_currencies", lambda: queries.seen_currencies(cur)),
               ("reconciliation", lambda: queries.reconciliation(cur, start, last)),
               ("cohorts", lambda: queries.cohorts(cur, start, last)),
               ("facts dated by event", lambda: queries.facts(cur, start, last, dated="event")),
               ("merchant economics (days)", lambda: economics.merchant_days(cur, last, platform)),
               ("balances and float (series)", lambda: balances.float_series(cur, start, last, platform))]
        for by in ("revenue", "gmv"):
            ids = tuple(r.keys["merchant"] for r in queries.top_merchants(facts, by, None))
            sql.append((f"merchants (top by {by})", lambda ids=ids: queries.merchants(cur, ids)))
        for label, fn in sql:
            _, cold, warm = timed(fn, args.repeats)
            print(line(label, cold, warm))
            page_cold += cold
        cuts = [("total, previous total", lambda: (queries.total(facts, None), queries.total(facts, None, False))),
                ("series by charge type", lambda: queries.series(facts, "day", "charge_type", None)),
                ("series (take rate, losses) x2", lambda: [queries.series(facts, "day", None, None) for _ in "ab"]),
                ("by country, by account type", lambda: [queries.breakdown(facts, c, None)
                                                         for c in ("country", "account_type")]),
                ("top merchants x2", lambda: [queries.top_merchants(facts, b, None) for b in ("revenue", "gmv")]),
                ("rates used, unconverted", lambda: (queries.rates_used(facts), queries.unconverted(facts))),
                ("by currency", lambda: queries.by_currency(facts))]
        in_process = 0.0
        for label, fn in cuts:
            _, cold, warm = timed(fn, args.repeats)
            print(line(f"  cut: {label}", cold, warm))
            in_process += cold
        print(f"{'page, first render after a sync':<34} {page_cold + in_process:8.1f} ms "
              f"(SQL {page_cold:.1f} ms, cuts in process {in_process:.1f} ms); target < 1000 ms")
        print(f"{'  + the refresh after a sync':<34} {page_cold + in_process + refresh:8.1f} ms; peak RSS {rss_mb():,.0f} MB")
        con.close()


if __name__ == "__main__":
    main()
