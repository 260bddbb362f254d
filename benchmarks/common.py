"""What the benchmarks share: a demo mirror built without HTTP, and percentiles printed one way.

`build(scale, path, seed)` renders the emulator's seed object by object exactly as the API would return
it (core.emulator.objects.render) and writes it with Store.upsert_json, in minutes instead of the ~25
a full sync of the large demo takes. Benchmarks of page queries (accounts list, risk queue, revenue,
tax forms) build a mirror once with it and reuse the file with their `--db` option.
"""
from __future__ import annotations

import gc
import json
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BATCH = 2_000  # objects per upsert_json call
TABLES_BUILT = ("accounts", "charges", "transfers", "payouts", "application_fees", "refunds", "disputes",
                "balance_transactions")  # events too with build(..., events=True)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(scale: str, path: Path, seed: int, events: bool = False) -> None:
    """The demo platform at `scale`, written straight into a mirror at `path` (no emulator server, no HTTP)."""
    from core.emulator import objects
    from core.emulator import seed as demo_seed
    from core.mirror.schema import table_of
    from core.mirror.store import Store

    started = time.monotonic()
    state = demo_seed.generate(seed, scale)
    print(f"seeded {scale} (seed {seed}) in {time.monotonic() - started:.0f} s, peak RSS {rss_mb():,.0f} MB",
          flush=True)
    written = 0
    with Store(path, memory_limit="1GB") as store:
        def write(table: str, batch: list[tuple[str, str, bool]]) -> int:
            with store.transaction() as conn:  # a fresh table: append, as a sync's first listing does
                return store.upsert_json(conn, table, batch, append=True)

        for resource_name in (*TABLES_BUILT, "events") if events else TABLES_BUILT:
            table, t0, n = table_of(resource_name), time.monotonic(), 0
            batch: list[tuple[str, str, bool]] = []
            for rec in state.all_of(resource_name):
                batch.append((rec["_scope"] or "", json.dumps(objects.render(state, rec), separators=(",", ":")),
                              False))
                if len(batch) >= BATCH:
                    n += write(table, batch)
                    batch = []
            n += write(table, batch) if batch else 0
            written += n
            print(f"  {table}: {n:,} rows in {time.monotonic() - t0:.0f} s", flush=True)
        with store.transaction() as conn:  # a finished run, so the mirror reads as synced
            conn.execute("INSERT INTO sync_runs (mode, started_at, finished_at, status, objects) "
                         "VALUES ('full', now(), now(), 'succeeded', ?)", [written])
    del state
    gc.collect()
    print(f"built {path}: {written:,} objects in {time.monotonic() - started:.0f} s, peak RSS {rss_mb():,.0f} MB",
          flush=True)


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of timings."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def line(label: str, values: list[float], width: int = 16) -> str:
    """One timing line: count, p50, p95 and max in ms."""
    return (f"{label:<{width}} n={len(values):>4}  p50 {statistics.median(values):7.1f}  p95 {pct(values, 95):7.1f}  "
            f"max {max(values):7.1f} ms")
