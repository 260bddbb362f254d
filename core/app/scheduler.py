"""Keeps the mirror fresh without anyone running a command: one background thread per app process.

Runs never overlap (DuckDB has one writer); a button press waits for a running sync rather than
starting a second. `version` moves on after every finished run, so cached queries keyed by it refresh;
`ticks` moves on with every progress line, so pages read what a long run has committed so far.
The first run comes after `first_delay` (the runtime says 0 when nothing has synced yet), then one
every `interval`. While a run is under way `running` is true and `progress_line` is its latest line.
"""
from __future__ import annotations

import logging
import threading
import time
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
        self._first_delay = interval_seconds
        self.version = 0
        self.ticks = 0
        self.running = False
        self.progress_line: str | None = None
        self.last_error: str | None = None

    def run_once(self, progress: Progress | None = None) -> Any:
        """Run one sync now (or wait for the one under way, then run). Errors are kept, then raised."""
        with self._lock:
            self.running = True
            self.progress_line = None

            def report(line: str) -> None:
                self.progress_line = line
                self.ticks += 1
                if progress is not None:
                    progress(line)

            try:
                result = self._run_sync(report)
                self.last_error = None
                return result
            except Exception as exc:
                self.last_error = str(exc)
                raise
            finally:
                self.running = False
                self.version += 1

    def start(self, first_delay: float | None = None) -> None:
        """Start the background loop: the first run after `first_delay` seconds (default: one interval)."""
        if self._thread is None:
            self._first_delay = self.interval if first_delay is None else max(0.0, first_delay)
            if self._first_delay == 0:
                self.running = True  # already: a page rendered before the thread gets going says "loading"
            self._thread = threading.Thread(target=self._loop, name="connect-ops-sync", daemon=True)
            self._thread.start()

    def stop(self, wait: bool = False, timeout: float | None = None) -> bool:
        """No more scheduled runs; with `wait`, also wait (up to `timeout` s) for a run under way (any
        caller's) to finish. False when that wait timed out."""
        self._stop.set()
        if not wait:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return False
        left = -1 if deadline is None else max(0.0, deadline - time.monotonic())
        if not self._lock.acquire(timeout=left):
            return False
        self._lock.release()
        return True

    def _loop(self) -> None:
        delay = self._first_delay
        while not self._stop.wait(delay):
            delay = self.interval
            try:
                self.run_once()
            except Exception as exc:  # recorded in sync_runs by the sync itself; keep the loop alive
                if not self._stop.is_set():  # else cancelled on purpose: the process is closing
                    log.warning("scheduled sync failed: %s", exc)
