"""How close a full sync gets to the least time Stripe's rate limits allow, and what an incremental costs.

    .venv/bin/python benchmarks/sync_throughput.py                    # 100, 500 and 5,000 accounts x 10-200 charges
    .venv/bin/python benchmarks/sync_throughput.py --shape 100x10-200 --shape 500x50
    .venv/bin/python benchmarks/sync_throughput.py --scale medium      # a named demo scale

For each platform: start the emulator with Stripe-like latency and limits (300 ms, 25 requests/s per
endpoint, 100/s overall), count from its dump the pages the data needs, run `python -m core.sync` as a
child process (wall time from process start to exit; peak RSS its own), then change 1% of the objects
and sync incrementally. Prints figures; asserts nothing. Targets (issue 5 and 6): floor/wall >= 0.85,
requests <= 1.05x the pages the data needs, incremental requests <= 1.1x the exact-polling floor.

Pages the data needs: for every scope (the platform, each connected account) and every resource the
sync lists there, ceil(objects / 100) pages, at least one (an empty list still costs a request). The
sync needs no request beyond these for a first sync: a scope's events are listed last and that listing
is its replay (core/mirror/sync.py, EventsListing). Floor = max(pages / overall limit, busiest
endpoint's pages / per-endpoint limit).

Exact-polling floor of an incremental: Stripe has no platform-wide list of connected accounts' events,
so every scope polled costs its new events' pages (at least one); every scope where money moved (a new
balance transaction, or a pending one that became available) costs one balance-transaction page per 100
of them, the least that fetches what changes without an event of its own (a transfer's `py_` payment
and its refunds arrive with their balance transactions, expanded); and new accounts raise no platform
event, so one account list.
"""
from __future__ import annotations

import argparse
import codecs
import email.utils
import json
import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.emulator.launcher import EmulatorProcess, start_emulator
from core.mirror.sync import ACCOUNT_RESOURCES, PAGE, PLATFORM_RESOURCES

SHAPES = ("100x10-200", "500x10-200", "5000x10-200")
SUMMARY = re.compile(r"sync done: ([\d,]+) objects, ([\d,]+) requests .* in ([\d.]+)s")
ITEM = re.compile(r'\{"account": (?:null|"(acct_\w+)"), "object": \{')  # an item of the dump, and its scope


@dataclass
class Need:
    """Pages the data needs, per endpoint, and what they were counted from."""

    pages: Counter[str] = field(default_factory=Counter)
    scopes: int = 0
    objects: int = 0

    @property
    def total(self) -> int:
        return sum(self.pages.values())

    def floor(self, args: argparse.Namespace) -> float:
        return floor_seconds(self.total, self.pages, args)


def floor_seconds(total: int, per_endpoint: Counter[str], args: argparse.Namespace) -> float:
    """The least time the limits allow for these requests: overall, and the busiest endpoint."""
    return max(total / args.global_rps, max(per_endpoint.values(), default=0) / args.per_endpoint_rps)


def control(emu: EmulatorProcess, method: str, path: str, **data: str) -> dict:
    query, form = (data, None) if method == "GET" else (None, data or None)
    response = httpx.request(method, emu.base_url + path, headers={"Authorization": f"Bearer {emu.api_key}"},
                             params=query, data=form, timeout=600)
    response.raise_for_status()
    return response.json()


def dump_items(emu: EmulatorProcess, resource_name: str, *, parse: bool) -> Iterator[tuple[str, dict[str, Any]]]:
    """(scope, object or {}) for every object of a resource, streamed: the largest dump is ~1 GB of JSON,
    too much to hold parsed. Items are found by their wrapper; `parse` decodes each object too."""
    decoder, text = json.JSONDecoder(), codecs.getincrementaldecoder("utf-8")()
    with httpx.stream("GET", emu.base_url + "/_emulator/dump", params={"resource": resource_name},
                      headers={"Authorization": f"Bearer {emu.api_key}"}, timeout=900) as response:
        response.raise_for_status()
        buffer = ""
        for chunk in response.iter_bytes(1 << 20):
            buffer += text.decode(chunk)
            consumed = 0
            for match in ITEM.finditer(buffer):
                consumed = match.end()
                if parse:
                    try:
                        item, consumed = decoder.raw_decode(buffer, match.start())
                    except json.JSONDecodeError:
                        consumed = match.start()  # the rest of this item comes with the next chunk
                        break
                yield match[1] or "", item["object"] if parse else {}
            buffer = buffer[consumed:]


def pages_needed(emu: EmulatorProcess) -> Need:
    """ceil(objects / 100) pages, at least one, for every scope and resource the sync lists."""
    accounts = [a["id"] for _, a in dump_items(emu, "accounts", parse=True)]
    need = Need(scopes=1 + len(accounts))
    for name in dict.fromkeys(PLATFORM_RESOURCES + ACCOUNT_RESOURCES):
        counts = Counter(scope for scope, _ in dump_items(emu, name, parse=False))
        need.objects += sum(counts.values())
        scopes = ([""] if name in PLATFORM_RESOURCES else []) + (accounts if name in ACCOUNT_RESOURCES else [])
        need.pages[f"GET /v1/{name}"] = sum(max(1, math.ceil(counts[s] / PAGE)) for s in scopes)
    return need


def emulator_now(emu: EmulatorProcess) -> int:
    """The emulator's clock (what `created` of new objects will say), off its Date header."""
    response = httpx.get(emu.base_url + "/v1/balance", headers={"Authorization": f"Bearer {emu.api_key}"}, timeout=120)
    return int(email.utils.parsedate_to_datetime(response.headers["date"]).timestamp())


def incremental_floor(emu: EmulatorProcess, changed_from: int, full_started: int, scopes: int) -> tuple[int, str]:
    """The least requests an exact polling sync makes after the change (see the module docstring)."""
    events = Counter(scope for scope, e in dump_items(emu, "events", parse=True) if e["created"] >= changed_from)
    moved: Counter[str] = Counter()
    for scope, txn in dump_items(emu, "balance_transactions", parse=True):
        if txn["created"] >= changed_from or (txn["status"] == "available" and txn["available_on"] >= full_started):
            moved[scope] += 1
    event_pages = scopes - len(events) + sum(math.ceil(n / PAGE) for n in events.values())
    money_pages = sum(math.ceil(n / PAGE) for n in moved.values())
    floor = event_pages + money_pages + 1
    how = (f"{event_pages:,} events pages ({scopes:,} scopes, {sum(events.values()):,} new events) + {money_pages:,} "
           f"balance-transaction pages ({len(moved):,} scopes where money moved) + 1 account list")
    return floor, how


def run_sync(emu: EmulatorProcess, db: Path, args: argparse.Namespace) -> tuple[int, int, float, float, float]:
    """(objects, requests, seconds as the sync measured them, wall seconds from process start to exit, its
    own peak RSS in MB: from wait4, since RUSAGE_CHILDREN also counts the emulators of earlier shapes)."""
    env = {**os.environ, "STRIPE_API_KEY": emu.api_key, "STRIPE_API_BASE": emu.base_url, "CONNECT_OPS_DB": str(db),
           "CONNECT_OPS_MAX_RPS": str(args.global_rps), "CONNECT_OPS_MAX_RPS_PER_ENDPOINT": str(args.per_endpoint_rps)}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.monotonic()
        child = subprocess.Popen([sys.executable, "-m", "core.sync", "--quiet"], env=env, cwd=ROOT, stdout=out,
                                 stderr=err, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.monotonic() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if child.returncode != 0:
        raise SystemExit(f"sync failed: {stderr.strip()}")
    found = SUMMARY.search(stdout)
    assert found, stdout
    return int(found[1].replace(",", "")), int(found[2].replace(",", "")), float(found[3]), wall, usage.ru_maxrss / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU a live process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def endpoint_lines(stats: dict, need: Need | None) -> list[str]:
    lines = []
    for endpoint, n in sorted(stats["by_endpoint"].items(), key=lambda kv: -kv[1]):
        pages = need.pages.get(endpoint) if need else None
        ratio = f" {n / pages:5.2f}x its {pages:,} pages" if pages else ""
        lines.append(f"  {endpoint:<36} {n:>7,} requests{ratio}")
    return lines


def full_sync(emu: EmulatorProcess, db: Path, need: Need, args: argparse.Namespace) -> int:
    """Run and report the first sync; returns its requests."""
    control(emu, "POST", "/_emulator/stats/reset")
    emulator_cpu, sync_cpu, load = cpu_seconds(emu.process.pid), children_cpu(), load_average()
    objects, requests, seconds, wall, rss = run_sync(emu, db, args)
    emulator_cpu, sync_cpu = cpu_seconds(emu.process.pid) - emulator_cpu, children_cpu() - sync_cpu
    stats = control(emu, "GET", "/_emulator/stats")
    floor = need.floor(args)
    busiest = max(need.pages, key=need.pages.__getitem__)
    print(f"pages the data needs: {need.total:,} ({need.objects:,} objects in {need.scopes:,} scopes); busiest "
          f"endpoint {busiest} {need.pages[busiest]:,}")
    print(f"floor {floor:.1f} s = max({need.total:,} / {args.global_rps:g}, {need.pages[busiest]:,} / "
          f"{args.per_endpoint_rps:g})")
    print(f"full sync: wall {wall:.1f} s (process start to exit; the sync timed itself {seconds:.1f} s), "
          f"floor/wall {floor / wall:.2f}")
    print(f"  requests {requests:,} = {requests / need.total:.3f}x the pages (emulator counted {stats['requests']:,}, "
          f"{stats.get('rate_limited', 0):,} rate-limited); {objects:,} objects")
    print("\n".join(endpoint_lines(stats, need)))
    print(f"  CPU: sync {sync_cpu:.1f} s, emulator {emulator_cpu:.1f} s; load average before {load}, "
          f"after {load_average()}; peak RSS {rss:.0f} MB (the sync's own)")
    return requests


def incremental(emu: EmulatorProcess, db: Path, need: Need, full_started: int, args: argparse.Namespace) -> None:
    """Change 1% of the objects, sync again, and compare with the exact-polling floor."""
    changed_from = emulator_now(emu)
    changed = control(emu, "POST", "/_emulator/mutate", fraction="0.01", seed="7")["changed"]
    control(emu, "POST", "/_emulator/stats/reset")
    objects, requests, seconds, wall, _ = run_sync(emu, db, args)
    stats = control(emu, "GET", "/_emulator/stats")
    floor, how = incremental_floor(emu, changed_from, full_started, need.scopes)
    print(f"incremental after {changed:,} changes (1%): {requests:,} requests, {objects:,} objects, "
          f"{seconds:.1f} s ({wall:.1f} s wall)")
    print(f"  exact-polling floor {floor:,} = {how}; requests / floor = {requests / floor:.3f}")
    print("\n".join(endpoint_lines(stats, None)))


def platform_args(scale: str) -> tuple[str, ...]:
    """The emulator's options for a shape ("500x10-200": accounts x charges each) or a named scale."""
    if "x" not in scale:
        return ("--scale", scale)
    accounts, charges = scale.split("x", 1)
    return ("--accounts", accounts, "--charges-per-account", charges)


def bench(scale: str, args: argparse.Namespace) -> None:
    emulator_args = (*platform_args(scale), "--seed", args.seed, "--latency-ms", str(args.latency_ms),
                     "--per-endpoint-rps", str(args.per_endpoint_rps), "--global-rps", str(args.global_rps))
    print(f"== {scale}: latency {args.latency_ms:g} ms, {args.per_endpoint_rps:g}/s per endpoint, "
          f"{args.global_rps:g}/s overall", flush=True)
    with tempfile.TemporaryDirectory() as tmp, start_emulator(*emulator_args, timeout=900) as emu:
        need = pages_needed(emu)
        full_started = emulator_now(emu)
        full_sync(emu, Path(tmp) / "bench.duckdb", need, args)
        if not args.no_incremental:
            incremental(emu, Path(tmp) / "bench.duckdb", need, full_started, args)
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", action="append", help=f"ACCOUNTSxLO-HI charges each (default: {', '.join(SHAPES)})")
    parser.add_argument("--scale", action="append", help="a named demo scale instead (small, medium, large)")
    parser.add_argument("--seed", default="1")
    parser.add_argument("--latency-ms", type=float, default=300)
    parser.add_argument("--per-endpoint-rps", type=float, default=25)
    parser.add_argument("--global-rps", type=float, default=100)
    parser.add_argument("--no-incremental", action="store_true")
    args = parser.parse_args()
    for scale in (args.shape or []) + (args.scale or []) or list(SHAPES):
        bench(scale, args)


if __name__ == "__main__":
    main()
