"""`python -m core.sync [--full]`: one sync from the command line, for headless use.

Progress is one line per stream every few seconds, then a summary. Failures print one line that says
what to do (bad key, unreachable API, locked database) and exit non-zero. Without STRIPE_API_KEY
(demo mode) it starts the local emulator and syncs from it.
"""
from __future__ import annotations

import argparse
import sys
import time
from contextlib import ExitStack

from core.settings import SettingsError, load_settings
from core.store import Store, StoreError
from core.runtime import stripe_api
from core.stripe_client import StripeApiError
from core.sync.engine import SyncEngine, one_line

SYNC_MEMORY_LIMIT = "128MB"  # DuckDB's share; measured peak RSS of the whole process in README.md


def limit_malloc_arenas(arenas: int = 2) -> None:
    """glibc gives each thread its own heap (up to 8 per core); with dozens of HTTP threads the freed
    pages of one are never reused by another and RSS creeps up. Two arenas trade a little lock
    contention for a flat footprint. A no-op off glibc."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-8, arenas)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.sync", description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="list every object again instead of events since last sync")
    parser.add_argument("--quiet", action="store_true", help="only the summary")
    args = parser.parse_args(argv)
    try:
        return _run(args.full, args.quiet)
    except (SettingsError, StoreError, StripeApiError) as exc:
        print(f"sync failed: {one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sync interrupted; the next run resumes where this one stopped", file=sys.stderr)
        return 130


def _run(full: bool, quiet: bool) -> int:
    limit_malloc_arenas()
    settings = load_settings()
    with ExitStack() as stack:
        if settings.demo_mode:
            from core.demo import demo_settings
            from core.emulator.launcher import start_emulator
            from core.runtime import demo_database

            settings = settings.model_copy(update={"connect_ops_db": demo_database(settings)})
            print(f"demo mode (no STRIPE_API_KEY): starting the emulator, scale {settings.connect_ops_demo_scale}")
            emulator = stack.enter_context(start_emulator(
                "--scale", settings.connect_ops_demo_scale, "--seed", str(settings.connect_ops_demo_seed)))
            settings = demo_settings(settings, emulator)
        # DuckDB's default cache (80% of RAM) grows with the mirror; the sync mostly appends, so a small
        # cache costs little and bounds the process (peak RSS 195/313/391 MB at small/medium/large).
        store = stack.enter_context(Store(settings.connect_ops_db, memory_limit=SYNC_MEMORY_LIMIT))
        api = stripe_api(settings)
        print(f"syncing {settings.stripe_api_base} into {settings.connect_ops_db} "
              f"(budget {settings.max_rps:g} req/s overall, {settings.max_rps_per_endpoint:g} per endpoint)")
        started = time.monotonic()
        engine = SyncEngine(store, api, progress=None if quiet else print)
        result = engine.run(full)
        for line in engine.stream_lines(time.monotonic() - started):
            print(line)
        rate = result.requests / max(result.seconds, 0.001)
        print(f"{result.mode} sync done: {result.objects:,} objects, {result.requests:,} requests "
              f"({api.stats.retries:,} retries, {api.stats.rate_limited:,} rate-limited) in {result.seconds:.1f}s, "
              f"{rate:.1f} req/s; run #{result.run_id}")
        for line in result.log:
            if "again" in line:
                print(f"note: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
