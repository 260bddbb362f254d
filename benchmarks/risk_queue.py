"""The risk queue (core.risk.queue) on a demo mirror: its build, the page's queries, and the refresh after a sync.

    .venv/bin/python benchmarks/risk_queue.py --scale large --db /tmp/risk_large.duckdb   # built once, reused
    .venv/bin/python benchmarks/risk_queue.py --scale medium

Without --db (or when the file does not exist yet) it builds the mirror in-process without HTTP
(benchmarks/common.py). Then it prints:

* the queue's build: every account's numbers in one SQL statement (core.risk.signals) and their scores
  (core.risk.score), cold, then again (the in-process cache per data version);
* the page's queries once built: the queue under a mix of filters, an account's risk view (charts, disputes,
  links), the CSV of every account;
* the refresh after a sync: a simulated incremental sync rewrites 1% of the charges and a few accounts (as the
  sync's writer does: delete the keys, insert the objects), then `refresh_after_sync` (what the app runs after
  every sync: assessments again, lapsed clearances written down) and the first page after it.

Asserts nothing (target: page queries under 300 ms on the large demo; the build is precomputed after each sync).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import build, line, rss_mb
from core.mirror.store import Store
from core.risk import queue as risk_queue
from core.risk.queue import QueueFilters
from core.risk.score import assess
from core.risk.signals import account_metrics


def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, (time.perf_counter() - started) * 1000


def mix() -> list[tuple[str, QueueFilters]]:
    """What the risk team clicks: the default view, each filter, every review state, a deep combination."""
    F = QueueFilters
    return [("default", F()), ("every state", F(review_states=())),
            ("dispute activity", F(signals=("dispute_activity",))),
            ("refund rate", F(signals=("refund_rate", "risky_charges"))), ("country US", F(country=("US",))),
            ("express", F(type=("express",))), ("past due", F(signals=("past_due",), review_states=())),
            ("assignee", F(assignees=("nobody@example.com",))), ("cleared", F(review_states=("cleared",))),
            ("combined", F(signals=("volume_spike", "young_high_volume"), country=("US", "GB"), type=("custom",))),
            ("all accounts", F(review_states=(), min_score=0))]


def simulate_sync(store: Store, fraction: float = 0.01) -> int:
    """Rewrite `fraction` of the charges (a refund on each) and 20 accounts, as an incremental sync's writer
    would; returns the objects written."""
    cur = store.cursor()
    total = cur.execute("SELECT count(*) FROM charges").fetchone()[0]
    sample = max(1, int(total * fraction))
    rows = cur.execute(f"SELECT scope, raw FROM (SELECT scope, raw FROM charges WHERE status = 'succeeded') "
                       f"USING SAMPLE reservoir({sample} ROWS) REPEATABLE (7)").fetchall()
    accounts = cur.execute("SELECT raw FROM connected_accounts ORDER BY id LIMIT 20").fetchall()
    charges = []
    for scope, raw in rows:
        obj = json.loads(raw)
        obj["amount_refunded"] = max(obj.get("amount_refunded") or 0, obj["amount"] // 2)
        charges.append((scope, obj))
    with store.transaction() as conn:
        written = store.upsert_scoped(conn, "charges", charges)
        written += store.upsert(conn, "connected_accounts", "", [json.loads(r[0]) for r in accounts])
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="large", help="demo scale when building: small, medium, large")
    parser.add_argument("--db", type=Path, help="a mirror to reuse (built there first if missing; the run writes "
                                                "a simulated sync into it)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=5, help="warm passes over the mix")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / f"risk_{args.scale}.duckdb"
        if not db.exists():
            build(args.scale, db, args.seed)
        with Store(db) as store:
            run(store, args.repeats)


def run(store: Store, repeats: int) -> None:
    cur = store.cursor()
    sizes = dict(cur.execute("SELECT 'accounts', count(*) FROM connected_accounts UNION ALL SELECT 'charges', "
                             "count(*) FROM charges UNION ALL SELECT 'disputes', count(*) FROM disputes UNION ALL "
                             "SELECT 'balance_transactions', count(*) FROM balance_transactions").fetchall())
    print(f"{store.path}: {sizes['accounts']:,} accounts, {sizes['charges']:,} charges, "
          f"{sizes['disputes']:,} disputes, {sizes['balance_transactions']:,} balance transactions; threads "
          f"{cur.execute('SELECT current_setting(?)', ['threads']).fetchone()[0]}")
    now = risk_queue.measuring_time()
    metrics, sql_ms = timed(account_metrics, cur, now)
    _, score_ms = timed(lambda: [assess(m) for m in metrics])
    print(f"build, cold: signal SQL {sql_ms:,.0f} ms + scores {score_ms:,.0f} ms for {len(metrics):,} accounts")
    risk_queue._CACHE.clear()
    first, first_ms = timed(risk_queue.queue, cur, QueueFilters())
    print(f"build, cold, through the queue (version check, SQL, scores, sort, first page): {first_ms:,.0f} ms; "
          f"{first.total:,} accounts in the open queue")
    measure_pages(store, repeats)
    written, sync_ms = timed(simulate_sync, store)
    print(f"simulated sync: {written:,} objects rewritten in {sync_ms:,.0f} ms")
    reopened, refresh_ms = timed(risk_queue.refresh_after_sync, store)
    _, after_ms = timed(risk_queue.queue, store.cursor(), QueueFilters())
    print(f"refresh after the sync (assess every account again, write lapsed clearances: {len(reopened)}): "
          f"{refresh_ms:,.0f} ms; first page after it {after_ms:,.1f} ms")
    print(f"peak RSS {rss_mb():,.0f} MB")


def measure_pages(store: Store, repeats: int) -> None:
    cur = store.cursor()
    timings: dict[str, list[float]] = {}
    for _ in range(repeats):
        for label, filters in mix():
            timings.setdefault(label, []).append(timed(risk_queue.queue, cur, filters)[1])
    everything = [v for values in timings.values() for v in values]
    print(line("page: queue", everything) + f"   ({len(mix())} filter combinations x {repeats})")
    for label, values in timings.items():
        print("  " + line(label, values, 18))
    top = [r.account for r in risk_queue.queue(cur, QueueFilters(), limit=10).rows]
    views = [timed(risk_queue.account_risk, cur, account)[1] for account in top for _ in range(2)]
    print(line("page: account", views) + "   (risk view of the top 10: charts, disputes, refunds, links, history)")
    csv_text, csv_ms = timed(lambda: risk_queue.queue_csv(risk_queue.queue(cur, QueueFilters(review_states=(),
                                                                                             min_score=0),
                                                                           limit=None).rows))
    print(f"page: CSV of every account: {csv_ms:,.0f} ms, {len(csv_text) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
