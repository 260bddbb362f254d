"""Merchant lookup latency (core.support.lookup.lookup) over a fixed mix of ~200 queries.

    .venv/bin/python benchmarks/lookup_latency.py --scale medium                 # build a DB, then measure
    .venv/bin/python benchmarks/lookup_latency.py --db /tmp/large.duckdb         # reuse a synced DB

Without --db (or when the --db file does not exist yet) it starts the emulator at --scale, syncs it into
the file with core.app.runtime.run_sync, then measures. The file is opened read-only for the measurement.
The mix: ids of every kind (exact), partial ids (prefixes), bare id fragments, emails, names (with and
without accents, partial words), metadata values, fingerprints, odd input. Prints p50/p95/max in ms per
group and overall, for a cold first pass (text index built on the first lookup) and warm repeats.
Asserts nothing (target: p95 < 200 ms at large scale).
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import line  # noqa: E402
from core.support.lookup import lookup  # noqa: E402


def build(scale: str, path: Path, seed: str) -> None:
    from core.emulator.launcher import start_emulator
    from core.app.runtime import run_sync
    from core.settings import Settings
    from core.mirror.store import Store

    started = time.monotonic()
    with start_emulator("--scale", scale, "--seed", seed, timeout=3600) as emu:
        settings = Settings(stripe_api_key=emu.api_key, stripe_api_base=emu.base_url, connect_ops_db=path,
                            connect_ops_max_rps=400, connect_ops_max_rps_per_endpoint=400)
        store = Store(path)
        try:
            result = run_sync(settings, store)
        finally:
            store.close()
    print(f"built {path} at scale {scale}: {result.objects:,} objects in {time.monotonic() - started:.0f} s")


def sample(cur: duckdb.DuckDBPyConnection, sql: str, n: int) -> list[str]:
    return [r[0] for r in cur.execute(sql + f" ORDER BY hash(id) LIMIT {int(n)}").fetchall() if r[0]]


def query_mix(cur: duckdb.DuckDBPyConnection, rng: random.Random) -> list[tuple[str, str]]:
    mix: list[tuple[str, str]] = []

    def add(group: str, values: list[str]) -> None:
        mix.extend((group, v) for v in values)

    add("id acct", sample(cur, "SELECT id FROM connected_accounts", 8))
    add("id ch", sample(cur, "SELECT id FROM charges WHERE id LIKE 'ch\\_%' ESCAPE '\\'", 12))
    add("id py", sample(cur, "SELECT id FROM charges WHERE id LIKE 'py\\_%' ESCAPE '\\'", 6))
    add("id tr", sample(cur, "SELECT id FROM transfers", 8))
    add("id po", sample(cur, "SELECT id FROM payouts", 8))
    add("id re/pyr", sample(cur, "SELECT id FROM refunds", 8))
    add("id dp", sample(cur, "SELECT id FROM disputes", 6))
    add("id fee", sample(cur, "SELECT id FROM application_fees", 8))
    add("id txn", sample(cur, "SELECT id FROM balance_transactions", 12))
    add("id ba", sample(cur, "SELECT raw->>'$.external_accounts.data[0].id' AS id FROM connected_accounts", 6))
    prefixes = (sample(cur, "SELECT id FROM charges", 10) + sample(cur, "SELECT id FROM balance_transactions", 6)
                + sample(cur, "SELECT id FROM connected_accounts", 4) + sample(cur, "SELECT id FROM transfers", 4))
    add("id prefix", [p[: p.index("_") + 1 + rng.randint(3, 8)] for p in prefixes])
    fragments = sample(cur, "SELECT id FROM charges", 4) + sample(cur, "SELECT id FROM connected_accounts", 4)
    add("id fragment", [f[f.index("_") + 4: f.index("_") + 12] for f in fragments])
    add("email", sample(cur, "SELECT email AS id FROM connected_accounts", 12))
    add("email part", [e.split("@")[0] for e in sample(cur, "SELECT email AS id FROM connected_accounts", 8)])
    names = sample(cur, "SELECT business_name AS id FROM connected_accounts", 12)
    add("name", names)
    add("name part", [n.split()[-1][:5].lower() for n in names])
    add("name accents", ["cafe muller", "zoe", "creme de la", "senor", "patisserie", "muller cafe", "unicode empor",
                         "o'reilly", "sakura"])
    add("metadata", sample(cur, "SELECT raw->>'$.metadata.platform_user_id' AS id FROM connected_accounts", 12))
    add("fingerprint", sample(cur, "SELECT raw->>'$.external_accounts.data[0].fingerprint' AS id "
                                   "FROM connected_accounts", 10))
    add("odd", ["", "a", "%", "_", "'", "\\", "🌸", "'; DROP TABLE connected_accounts;--", "100%", "xyz nothing",
                "example"])
    return mix


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="small", help="emulator scale when building: small, medium, large")
    parser.add_argument("--db", type=Path, help="a synced DuckDB file to reuse (built there if missing)")
    parser.add_argument("--seed", default="1")
    parser.add_argument("--repeats", type=int, default=3, help="warm passes over the mix")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / f"lookup_{args.scale}.duckdb"
        if not db.exists():
            build(args.scale, db, args.seed)
        con = duckdb.connect(str(db), read_only=True)
        cur = con.cursor()
        sizes = dict(cur.execute("SELECT 'accounts', count(*) FROM connected_accounts UNION ALL "
                                 "SELECT 'charges', count(*) FROM charges UNION ALL "
                                 "SELECT 'balance_transactions', count(*) FROM balance_transactions").fetchall())
        mix = query_mix(cur, random.Random(1))
        print(f"{db}: {sizes['accounts']:,} accounts, {sizes['charges']:,} charges, "
              f"{sizes['balance_transactions']:,} balance transactions; {len(mix)} queries")

        cold: list[float] = []
        warm: dict[str, list[float]] = {}
        for attempt in range(1 + args.repeats):
            for group, query in mix:
                started = time.perf_counter()
                lookup(cur, query)
                ms = (time.perf_counter() - started) * 1000
                if attempt == 0:
                    cold.append(ms)
                else:
                    warm.setdefault(group, []).append(ms)
        print(line("cold pass", cold) + f"   (first lookup, builds the text index: {cold[0]:.1f} ms)")
        everything = [v for values in warm.values() for v in values]
        print(line("warm overall", everything))
        passes = [statistics.median(everything[i::args.repeats]) for i in range(args.repeats)]
        print(f"{'':<14} p50 per warm pass: {', '.join(f'{p:.1f}' for p in passes)} ms (noise)")
        for group, values in warm.items():
            print(line(group, values))
        con.close()


if __name__ == "__main__":
    main()
