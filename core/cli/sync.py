"""`connect-ops sync [--full]` (or `python -m core.sync`): one sync from the command line, for headless use.

Progress is one line per stream every few seconds, then a summary. Failures print one line that says
what to do (bad key, unreachable API, locked database) and exit non-zero. Without STRIPE_API_KEY
(demo mode) it starts the local emulator and syncs from it.
"""
from __future__ import annotations

import argparse
import time
from contextlib import ExitStack
from pathlib import Path

import duckdb

from core.app.runtime import stripe_api
from core.mirror.store import DatabaseLockedError, Store, StoreError
from core.mirror.sync import SyncEngine
from core.settings import load_settings

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


def add_parser(commands: argparse._SubParsersAction) -> None:
    sync = commands.add_parser("sync", help="one sync of Stripe into the mirror", description=__doc__.splitlines()[0])
    sync.add_argument("--full", action="store_true", help="list every object again instead of events since last sync")
    sync.add_argument("--quiet", action="store_true", help="only the summary")
    sync.add_argument("--rebuild", action="store_true",
                      help="delete the mirror and sync it afresh from Stripe (people's records are kept)")
    sync.set_defaults(run=lambda args: _run(args.full or args.rebuild, args.quiet, args.rebuild))


def remove_mirror(path: Path) -> None:
    """Delete the mirror file (and its log and explorer copies), never the people's records; refused while
    another process holds it. A damaged file is deleted all the same: that is what a rebuild is for."""
    if path.is_file():
        with open(path, "rb") as handle:
            head = handle.read(12)
        if head and head[8:12] != b"DUCK":  # DuckDB's magic bytes: never delete a file that is not a database
            raise StoreError(f"CONNECT_OPS_DB={path} is not a DuckDB file: not deleted; point it at the mirror")
        try:
            duckdb.connect(str(path), read_only=True).close()
        except duckdb.Error as exc:
            if "lock" in str(exc).lower():
                raise DatabaseLockedError(f"mirror {path} is in use by another Connect Ops process (is the app "
                                          "running?): stop it, then rebuild") from None
    for stale in [path, Path(str(path) + ".wal"), *path.parent.glob(f"{path.name}.explore.*")]:
        stale.unlink(missing_ok=True)


def _run(full: bool, quiet: bool, rebuild: bool = False) -> int:
    limit_malloc_arenas()
    settings = load_settings()
    if rebuild:
        from core.cli.common import mirror_path

        path = mirror_path()
        remove_mirror(path)
        print(f"rebuilding the mirror {path} from Stripe (people's records kept)")
    with ExitStack() as stack:
        if settings.demo_mode:
            from core.app.runtime import open_demo

            print(f"demo mode (no STRIPE_API_KEY): starting the emulator, scale {settings.connect_ops_demo_scale}")
            settings, emulator = open_demo(settings)  # the app's demo platform and mirror, kept across runs
            stack.enter_context(emulator)
        # DuckDB's default cache (80% of RAM) grows with the mirror; the sync mostly appends, so a small
        # cache costs little and bounds the process (peak RSS 195/313/391 MB at small/medium/large).
        store = stack.enter_context(Store(settings.connect_ops_db, memory_limit=SYNC_MEMORY_LIMIT,
                                          records=settings.connect_ops_records_db))
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
