"""How close the sync gets to Stripe's rate limits, what an incremental sync costs, and its memory.

    .venv/bin/python benchmarks/sync_throughput.py --scale medium

Starts the emulator with Stripe-like latency and rate limits, runs `python -m core.sync` (a child
process, so its peak RSS is its own) with the same budget, then changes 1% of objects and syncs
incrementally. Prints figures; asserts nothing (targets: ratio >= 0.85 at medium scale, incremental
<= 5% of the backfill's requests, peak memory flat and < 400 MB at large scale).
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.emulator.launcher import EmulatorProcess, start_emulator  # noqa: E402

SUMMARY = re.compile(r"sync done: ([\d,]+) objects, ([\d,]+) requests .* in ([\d.]+)s")


def control(emu: EmulatorProcess, method: str, path: str, **data: str) -> dict:
    query, form = (data, None) if method == "GET" else (None, data or None)
    response = httpx.request(method, emu.base_url + path, headers={"Authorization": f"Bearer {emu.api_key}"},
                             params=query, data=form, timeout=300)
    response.raise_for_status()
    return response.json()


def run_sync(emu: EmulatorProcess, db: Path, args: argparse.Namespace) -> tuple[int, int, float, float]:
    """(objects, requests, seconds as the sync measured them, wall seconds including process start)."""
    env = {**os.environ, "STRIPE_API_KEY": emu.api_key, "STRIPE_API_BASE": emu.base_url, "CONNECT_OPS_DB": str(db),
           "CONNECT_OPS_MAX_RPS": str(args.global_rps), "CONNECT_OPS_MAX_RPS_PER_ENDPOINT": str(args.per_endpoint_rps)}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "core.sync", "--quiet"], env=env, cwd=ROOT, capture_output=True,
                            text=True)
    wall = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"sync failed: {result.stderr.strip()}")
    found = SUMMARY.search(result.stdout)
    assert found, result.stdout
    return int(found[1].replace(",", "")), int(found[2].replace(",", "")), float(found[3]), wall


def cpu_seconds(pid: int) -> float:
    """User + system CPU a live process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def floor_seconds(stats: dict, args: argparse.Namespace) -> float:
    """The least time the limits allow for these requests: overall, and the busiest endpoint."""
    per_endpoint = max(stats["by_endpoint"].values(), default=0) / args.per_endpoint_rps
    return max(stats["requests"] / args.global_rps, per_endpoint)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="small")
    parser.add_argument("--seed", default="1")
    parser.add_argument("--latency-ms", type=float, default=300)
    parser.add_argument("--per-endpoint-rps", type=float, default=25)
    parser.add_argument("--global-rps", type=float, default=100)
    args = parser.parse_args()
    emulator_args = ("--scale", args.scale, "--seed", args.seed, "--latency-ms", str(args.latency_ms),
                     "--per-endpoint-rps", str(args.per_endpoint_rps), "--global-rps", str(args.global_rps))
    with tempfile.TemporaryDirectory() as tmp, start_emulator(*emulator_args, timeout=900) as emu:
        db = Path(tmp) / "bench.duckdb"
        control(emu, "POST", "/_emulator/stats/reset")
        emulator_cpu, sync_cpu = cpu_seconds(emu.process.pid), children_cpu()
        objects, requests, seconds, wall = run_sync(emu, db, args)
        emulator_cpu, sync_cpu = cpu_seconds(emu.process.pid) - emulator_cpu, children_cpu() - sync_cpu
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        stats = control(emu, "GET", "/_emulator/stats")
        floor = floor_seconds(stats, args)
        print(f"scale {args.scale}: latency {args.latency_ms:g} ms, limits {args.per_endpoint_rps:g}/s per endpoint, "
              f"{args.global_rps:g}/s overall")
        print(f"full sync: {objects:,} objects, {requests:,} requests (emulator counted {stats['requests']:,}, "
              f"{stats.get('rate_limited', 0):,} rate-limited), {seconds:.1f} s sync time ({wall:.1f} s wall "
              f"with process start), {objects / seconds:,.0f} objects/s")
        print(f"rate-limit floor {floor:.1f} s; floor/measured = {floor / seconds:.2f}")
        for endpoint, n in sorted(stats["by_endpoint"].items(), key=lambda kv: -kv[1]):
            print(f"  {endpoint:<40} {n:>6,} ({n / args.per_endpoint_rps:.1f} s at the endpoint limit)")
        print(f"peak RSS of the sync process: {peak_mb:.0f} MB")
        print(f"CPU during the sync: sync process {sync_cpu:.1f} s, emulator {emulator_cpu:.1f} s "
              f"({(sync_cpu + emulator_cpu) / wall:.2f} of {os.cpu_count()} cores busy on average)")
        changed = control(emu, "POST", "/_emulator/mutate", fraction="0.01", seed="7")["changed"]
        control(emu, "POST", "/_emulator/stats/reset")
        inc_objects, inc_requests, inc_seconds, _ = run_sync(emu, db, args)
        print(f"incremental after {changed} changes (1%): {inc_requests:,} requests = "
              f"{100 * inc_requests / max(requests, 1):.1f}% of the backfill's, {inc_objects:,} objects, "
              f"{inc_seconds:.1f} s")
        inc_stats = control(emu, "GET", "/_emulator/stats")
        scopes = 1 + len(control(emu, "GET", "/_emulator/dump", resource="accounts")["data"])
        print(f"  of which the least any polling sync needs, one events list per scope: {scopes:,} requests = "
              f"{100 * scopes / max(requests, 1):.1f}% of the backfill's")
        for endpoint, n in sorted(inc_stats["by_endpoint"].items(), key=lambda kv: -kv[1]):
            print(f"  {endpoint:<40} {n:>6,}")
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak RSS of either sync process: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
