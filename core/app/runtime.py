"""Everything one app process shares: settings, the store, the scheduler, and the demo emulator.

Built once per process (the Streamlit binding caches it); nothing here imports Streamlit.
Nothing waits for the first sync: `start()` runs it at once in the background when the mirror has
never synced, and pages show what is loaded so far with `loading_notice()` above it.
"""
from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from core.actions import Context
from core.app.demo import demo_settings, reconcile_mirror, start_demo_emulator, state_file_for
from core.app.scheduler import Progress, SyncScheduler
from core.clock import utc_now
from core.emulator.launcher import EmulatorProcess
from core.mirror.store import Store, ensure_database_folder
from core.mirror.sync import SyncEngine, SyncResult
from core.settings import Settings, load_settings
from core.stripe_api import StripeApi

SyncFunction = Callable[[Settings, Store, "Progress | None"], Any]

DEMO_MAX_RPS = 400.0  # the local emulator has no Stripe rate limit; keep the demo's first load quick
DEMO_CATCH_UP_SECONDS = 10.0  # a demo restart's incremental sync: soon, but after the first page has rendered
CLOSE_TIMEOUT = 60.0  # seconds close() waits for a cancelled sync's requests under way (and the risk/revenue refresh)
log = logging.getLogger(__name__)

# Syncs under way in this process, so closing a runtime can stop its store's sync: a DuckDB call still
# running in a thread when the interpreter exits aborts the process (exit 134, "FATAL: exception not rethrown").
_running: set[SyncEngine] = set()
_running_lock = threading.Lock()


@dataclass
class Runtime:
    settings: Settings  # effective settings (in demo mode: pointed at the emulator)
    store: Store
    scheduler: SyncScheduler
    demo: bool
    emulator: EmulatorProcess | None = None
    api: StripeApi | None = None  # one client per process: syncs and actions share its rate budget and clock
    writes: int = 0  # actions that changed the mirror since start; part of the data version
    _synced: bool = field(default=False, repr=False)  # a sync has succeeded (it stays true)
    _closed: bool = field(default=False, repr=False)

    @property
    def data_version(self) -> tuple[int, int, int]:
        """Moves on after every sync and every action, so cached reads refresh; while the first sync
        loads, also with each of its progress lines, so every rerun shows what it has committed so far."""
        loading = 0 if self._synced else self.scheduler.ticks
        return self.scheduler.version, loading, self.writes

    def action_context(self) -> Context:
        return Context(self.store, self.api or stripe_api(self.settings))

    @property
    def stale_after(self) -> timedelta:
        return timedelta(minutes=self.settings.connect_ops_sync_interval_minutes * 3)

    def has_synced(self) -> bool:
        """A sync has succeeded into this mirror: its figures are complete as of that sync."""
        if not self._synced:
            self._synced = any(run["status"] == "succeeded" for run in self.store.runs())
        return self._synced

    def has_data(self) -> bool:
        """Anything to show: a finished sync, or rows a first sync has committed so far."""
        return self.has_synced() or self.store.has_rows()

    def first_sync_running(self) -> bool:
        return self.scheduler.running and not self.has_synced()

    def loading_notice(self) -> str | None:
        """While the first sync runs: what every page says above its (partial) figures."""
        if not self.first_sync_running():
            return None
        source = "the local Stripe emulator" if self.demo else "Stripe"
        so_far = self.scheduler.progress_line or "starting"
        return f"Loading the platform from {source}: {so_far}; figures are partial until it finishes."

    def no_data_text(self) -> str | None:
        """What a figure says instead of a number while there is no data at all (a zero must mean zero)."""
        if self.has_data():
            return None
        if self.scheduler.running:
            return "No data yet — the first sync is running"
        return "No data yet — no sync has finished (see above)"

    def first_sync_delay(self) -> float:
        """Seconds until the scheduler's first run: at once when nothing has synced; in demo mode a few
        seconds (the emulator just started; a quick incremental sync catches up, once the first page is
        out: the sync's threads would compete with its rendering); else when the last successful sync
        is one interval old."""
        if not self.has_synced():
            return 0.0
        if self.demo:
            return min(DEMO_CATCH_UP_SECONDS, self.scheduler.interval)
        finished = [r["finished_at"] for r in self.store.runs() if r["status"] == "succeeded" and r["finished_at"]]
        if not finished:
            return 0.0
        age = (utc_now() - max(finished)).total_seconds()
        return max(0.0, self.scheduler.interval - age)

    def start(self) -> None:
        """Start the background scheduler (the first sync at once if the mirror never synced)."""
        self.scheduler.start(self.first_sync_delay())

    def wait_for_first_sync(self, timeout: float = 600) -> None:
        """Block until a sync has succeeded (for tests and scripts; pages never wait)."""
        deadline = time.monotonic() + timeout
        while not self.has_synced():
            if self.scheduler.last_error and not self.scheduler.running:
                raise RuntimeError(f"the first sync failed: {self.scheduler.last_error}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no sync finished within {timeout:.0f} s")
            time.sleep(0.1)

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Stop the scheduler and the sync under way (cancelled: the next start resumes it, as after a
        kill), wait for its threads, close the store, stop the demo emulator. Runs at exit too; twice is once."""
        if self._closed:
            return
        self._closed = True
        self.scheduler.stop()
        cancel_syncs(self.store)
        if not self.scheduler.stop(wait=True, timeout=timeout):
            log.warning("a sync was still running %.0f s after it was cancelled; closing anyway", timeout)
        self.store.close()
        if self.emulator is not None:
            self.emulator.stop()


def stripe_api(settings: Settings) -> StripeApi:
    """The API client for these settings: their key, base URL and rate budget."""
    return StripeApi(settings.stripe_api_key or "", settings.stripe_api_base, max_rps=settings.max_rps,
                     max_rps_per_endpoint=settings.max_rps_per_endpoint, stripe_version=settings.stripe_api_version)


def run_sync(settings: Settings, store: Store, progress: Progress | None = None, full: bool = False,
             api: StripeApi | None = None) -> SyncResult:
    """One sync run with the configured rate budget, in this process (DuckDB's single writer).

    `progress` gets one line about once a second: "12,345 objects so far" (committed, so pages see them).
    """
    api = api or stripe_api(settings)
    if progress is None:
        return _run_engine(SyncEngine(store, api), full)
    last: list[str] = []

    def summary(_line: str) -> None:  # the engine reports per stream; pages want the total
        line = f"{engine.writer.objects:,} objects so far"
        if not last or last[-1] != line:
            last[:] = [line]
            progress(line)

    engine = SyncEngine(store, api, progress=summary, progress_every=1.0)
    return _run_engine(engine, full)


def _run_engine(engine: SyncEngine, full: bool) -> SyncResult:
    with _running_lock:
        _running.add(engine)
    try:
        return engine.run(full)
    finally:
        with _running_lock:
            _running.discard(engine)


def cancel_syncs(store: Store) -> int:
    """Cancel the syncs under way into `store` in this process (core/mirror/sync.py: SyncEngine.cancel)."""
    with _running_lock:
        engines = [e for e in _running if e.store is store]
    for engine in engines:
        engine.cancel()
    return len(engines)


def after_sync(store: Store, result: Any) -> Any:
    """What follows every successful sync in the app, so no page waits for it: the risk queue is assessed
    and cleared accounts that came back are written down (core/risk/queue.py), and the revenue cache is
    brought up to date (core/revenue/cache.py). Neither ever raises."""
    from core.revenue import cache as revenue_cache
    from core.risk.queue import refresh_after_sync

    refresh_after_sync(store)
    revenue_cache.refresh_after_sync(store)
    return result


def demo_database_path(settings: Settings) -> Path:
    """Where demo mode keeps its mirror: CONNECT_OPS_DB if set, else data/demo.duckdb (never the real one)."""
    path = settings.connect_ops_db
    if path == Settings.model_fields["connect_ops_db"].default:
        path = path.with_name("demo.duckdb")
    return path


def open_demo(settings: Settings) -> tuple[Settings, EmulatorProcess]:
    """Demo mode's emulator and mirror, consistent with each other (see core/app/demo.py), and the
    settings pointed at both. The mirror is kept across restarts when the emulator restored the
    platform it was filled from; otherwise it is deleted. Never the real mirror's file."""
    path = demo_database_path(settings)
    ensure_database_folder(path)  # a bad CONNECT_OPS_DB is one line naming it, before anything starts
    if path.exists():
        Store(path).close()  # raises DatabaseLockedError if another process uses it: never delete under it
    emulator = start_demo_emulator(settings, state_file_for(path))
    try:
        reconcile_mirror(path, emulator)
    except BaseException:
        emulator.stop()
        raise
    settings = demo_settings(settings.model_copy(update={"connect_ops_db": path}), emulator)
    if settings.connect_ops_max_rps is None:
        settings = settings.model_copy(update={"connect_ops_max_rps": DEMO_MAX_RPS,
                                               "connect_ops_max_rps_per_endpoint": DEMO_MAX_RPS})
    return settings, emulator


def build_runtime(settings: Settings | None = None, sync: SyncFunction | None = None) -> Runtime:
    """Load settings, start the emulator in demo mode (keeping its mirror when it restored the same
    platform) and open the store. `start()` then starts the scheduler. `sync` replaces run_sync (tests).

    Raises SettingsError or StoreError with a message fit for the page.
    """
    settings = settings or load_settings()
    demo = settings.demo_mode
    emulator = None
    if demo:
        settings, emulator = open_demo(settings)
    try:
        # a locked real mirror fails before anything starts; people's records are a file of their own
        store = Store(settings.connect_ops_db, records=settings.connect_ops_records_db)
    except BaseException:
        if emulator is not None:
            emulator.stop()
        raise
    store.close_interrupted_runs()
    store.lock_down()  # no files, no network, no SET for this process's DuckDB (the SQL explorer's last wall)
    api = stripe_api(settings)
    if sync is None:
        scheduler = SyncScheduler(lambda progress: after_sync(store, run_sync(settings, store, progress, api=api)),
                                  settings.connect_ops_sync_interval_minutes * 60)
    else:
        scheduler = SyncScheduler(lambda progress: sync(settings, store, progress),
                                  settings.connect_ops_sync_interval_minutes * 60)
    runtime = Runtime(settings, store, scheduler, demo, emulator, api=api)
    atexit.register(runtime.close)  # threads stopped and DuckDB closed before the interpreter goes (exit 0)
    return runtime
