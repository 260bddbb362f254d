"""The SQL explorer's starter queries: time of each on a demo mirror, through the explorer's own path.

    .venv/bin/python benchmarks/explore.py --scale large --db /tmp/large.duckdb   # built once, reused
    .venv/bin/python benchmarks/explore.py --scale small

Without --db (or when the --db file does not exist yet) it builds the mirror in-process without HTTP
(benchmarks/common.py). The file is opened read-only and locked down as the `connect-ops query`
command does, and each starter runs through core.explore.run.execute: guard, a worker process on the
explorer's copy of the queryable tables, read-only transaction,
the time limit (--timeout, default the page's) and the fetch of at most the download's rows. One cold
pass, then --repeats warm passes; prints rows, cold, p50 and max per query, and the guard's own cost.
Asserts nothing.
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

from benchmarks.common import build, rss_mb
from core.explore.run import Limits, QueryFailed, execute, explorer_database, guard
from core.explore.starters import STARTERS
from core.mirror.store import lock_down


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="large", help="demo scale when building: small, medium, large")
    parser.add_argument("--db", type=Path, help="a mirror to reuse (built there first if missing)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=3, help="warm passes")
    parser.add_argument("--timeout", type=float, default=Limits.seconds, help="the explorer's time limit, seconds")
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: DuckDB's, one per core)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / f"explore_{args.scale}.duckdb"
        if not db.exists():
            build(args.scale, db, args.seed)
        con = duckdb.connect(str(db), read_only=True)
        if args.threads:
            con.execute(f"SET threads = {int(args.threads)}")
        lock_down(con)
        cur = con.cursor()
        sizes = dict(cur.execute("SELECT 'accounts', count(*) FROM connected_accounts UNION ALL "
                                 "SELECT 'charges', count(*) FROM charges UNION ALL "
                                 "SELECT 'balance_transactions', count(*) FROM balance_transactions").fetchall())
        threads = cur.execute("SELECT current_setting('threads')").fetchall()[0][0]
        print(f"{db}: {sizes['accounts']:,} accounts, {sizes['charges']:,} charges, "
              f"{sizes['balance_transactions']:,} balance transactions; threads {threads}, "
              f"time limit {args.timeout:g} s")
        limits = Limits(seconds=args.timeout)
        checks = []
        for starter in STARTERS:
            started = time.perf_counter()
            guard(con.cursor(), starter.sql)
            checks.append((time.perf_counter() - started) * 1000)
        print(f"guard (parse + table check) per query: p50 {statistics.median(checks):.1f} ms, "
              f"max {max(checks):.1f} ms")
        started = time.perf_counter()
        copy = explorer_database(con.cursor(), str(db))  # the worker's own file: the queryable tables alone
        print(f"explorer's copy of the queryable tables: {time.perf_counter() - started:.2f} s")
        print(f"{'starter':<28} {'rows':>7} {'cold':>9} {'p50':>9} {'max':>9}")
        total = 0.0
        for starter in STARTERS:
            times: list[float] = []
            rows: int | str = "-"
            for _ in range(1 + args.repeats):
                started = time.perf_counter()
                try:
                    rows = execute(copy, starter.sql, limits).rows
                except QueryFailed as exc:
                    rows = f"({exc})"
                    times.append((time.perf_counter() - started) * 1000)
                    break
                times.append((time.perf_counter() - started) * 1000)
            warm = times[1:] or times
            total += statistics.median(warm)
            print(f"{starter.key:<28} {rows!s:>7} {times[0]:7.0f}ms {statistics.median(warm):7.0f}ms "
                  f"{max(warm):7.0f}ms")
        print(f"all {len(STARTERS)} starters, warm p50 summed: {total / 1000:.2f} s; peak RSS {rss_mb():,.0f} MB")
        con.close()


if __name__ == "__main__":
    main()
