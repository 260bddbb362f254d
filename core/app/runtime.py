"""Everything one app process shares: settings, the store, the scheduler, and the demo emulator.

Built once per process (the Streamlit binding caches it); nothing here imports Streamlit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from core.actions import Context
from core.app.demo import demo_settings, start_demo_emulator
from core.app.scheduler import Progress, SyncScheduler
from core.emulator.launcher import EmulatorProcess
from core.mirror.store import Store
from core.mirror.sync import SyncEngine, SyncResult
from core.settings import Settings, load_settings
from core.stripe_api import StripeApi

DEMO_MAX_RPS = 400.0  # the local emulator has no Stripe rate limit; keep the demo's first load quick


@dataclass
class Runtime:
    settings: Settings  # effective settings (in demo mode: pointed at the emulator)
    store: Store
    scheduler: SyncScheduler
    demo: bool
    emulator: EmulatorProcess | None = None
    writes: int = 0  # actions that changed the mirror since start; part of the data version

    @property
    def data_version(self) -> tuple[int, int]:
        """Moves on after every sync and every action, so cached reads refresh."""
        return self.scheduler.version, self.writes

    def action_context(self) -> Context:
        return Context(self.store, stripe_api(self.settings))

    @property
    def stale_after(self) -> timedelta:
        return timedelta(minutes=self.settings.connect_ops_sync_interval_minutes * 3)

    def has_synced(self) -> bool:
        return any(run["status"] == "succeeded" for run in self.store.runs())


def stripe_api(settings: Settings) -> StripeApi:
    """The API client for these settings: their key, base URL and rate budget."""
    return StripeApi(settings.stripe_api_key or "", settings.stripe_api_base, max_rps=settings.max_rps,
                     max_rps_per_endpoint=settings.max_rps_per_endpoint)


def run_sync(settings: Settings, store: Store, progress: Progress | None = None, full: bool = False) -> SyncResult:
    """One sync run with the configured rate budget, in this process (DuckDB's single writer)."""
    return SyncEngine(store, stripe_api(settings), progress=progress, progress_every=1.0).run(full)


def demo_database(settings: Settings) -> Path:
    """A fresh mirror for a fresh emulator: the emulator keeps its state in memory, so a mirror left from
    an earlier run would hold objects (and actions) this one never had. Never the real mirror's file."""
    path = settings.connect_ops_db
    if path == Settings.model_fields["connect_ops_db"].default:
        path = path.with_name("demo.duckdb")
    if path.exists():
        Store(path).close()  # raises DatabaseLockedError if another process uses it: never delete under it
    for stale in (path, path.with_name(path.name + ".wal")):
        try:
            stale.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            break  # locked or not ours to delete: Store() will say so in words
    return path


def build_runtime(settings: Settings | None = None) -> Runtime:
    """Load settings, start the emulator in demo mode, open the store and start the scheduler.

    Raises SettingsError or StoreError with a message fit for the page.
    """
    settings = settings or load_settings()
    demo = settings.demo_mode
    if demo:
        settings = settings.model_copy(update={"connect_ops_db": demo_database(settings)})
    store = Store(settings.connect_ops_db)  # first: a locked file must fail before anything starts
    emulator = None
    if demo:
        emulator = start_demo_emulator(settings)
        settings = demo_settings(settings, emulator)
        if settings.connect_ops_max_rps is None:
            settings = settings.model_copy(update={"connect_ops_max_rps": DEMO_MAX_RPS,
                                                   "connect_ops_max_rps_per_endpoint": DEMO_MAX_RPS})
    scheduler = SyncScheduler(lambda progress: run_sync(settings, store, progress),
                              settings.connect_ops_sync_interval_minutes * 60)
    return Runtime(settings, store, scheduler, demo, emulator)
