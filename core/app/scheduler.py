"""Keeps the mirror fresh without anyone running a command: one background thread per app process.

Runs never overlap (DuckDB has one writer); a button press waits for a running sync rather than
starting a second. `version` moves on after every finished run, so cached queries keyed by it refresh.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


class SyncScheduler:
    def __init__(self, run_sync: Callable[[Progress | None], Any], interval_seconds: float) -> None:
        self._run_sync = run_sync
        self.interval = interval_seconds
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.version = 0
        self.last_error: str | None = None

    def run_once(self, progress: Progress | None = None) -> Any:
        """Run one sync now (or wait for the one under way, then run). Errors are kept, then raised."""
        with self._lock:
            try:
                result = self._run_sync(progress)
                self.last_error = None
                return result
            except Exception as exc:
                self.last_error = str(exc)
                raise
            finally:
                self.version += 1

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="connect-ops-sync", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except Exception as exc:  # recorded in sync_runs by the sync itself; keep the loop alive
                log.warning("scheduled sync failed: %s", exc)
