"""Freshness words and the scheduler's one-at-a-time runs."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest

from core.app.freshness import freshness
from core.app.scheduler import SyncScheduler

NOW = datetime(2026, 11, 26, 12, 0, 0)
STALE = timedelta(minutes=30)


def _run(status: str, minutes_ago: int, error: str | None = None) -> dict:
    return {"status": status, "finished_at": NOW - timedelta(minutes=minutes_ago), "error": error}


def test_freshness_levels() -> None:
    assert freshness([], NOW, STALE).level == "never"
    fresh = freshness([_run("succeeded", 3)], NOW, STALE)
    assert (fresh.level, fresh.text) == ("fresh", "Synced 3 min ago")
    assert freshness([_run("succeeded", 90)], NOW, STALE).level == "stale"
    failed = freshness([_run("succeeded", 3), _run("failed", 1, "Stripe API unreachable")], NOW, STALE)
    assert failed.level == "failed" and failed.error == "Stripe API unreachable"
    assert "synced 3 min ago" in failed.text
    assert freshness([_run("succeeded", 3), {"status": "running", "finished_at": None}], NOW, STALE).level == "running"


def test_scheduler_never_overlaps_and_bumps_version() -> None:
    active = []
    peak = []

    def slow_sync(progress):
        active.append(1)
        peak.append(len(active))
        time.sleep(0.05)
        active.pop()
        return "ok"

    scheduler = SyncScheduler(slow_sync, interval_seconds=3600)
    threads = [threading.Thread(target=scheduler.run_once) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert max(peak) == 1
    assert scheduler.version == 4


def test_scheduler_keeps_the_error_and_runs_again() -> None:
    calls = []

    def failing(progress):
        calls.append(1)
        raise RuntimeError("Stripe API unreachable")

    scheduler = SyncScheduler(failing, interval_seconds=0.01)
    with pytest.raises(RuntimeError):
        scheduler.run_once()
    assert scheduler.last_error == "Stripe API unreachable"
    scheduler.start()
    time.sleep(0.2)
    scheduler.stop()
    assert len(calls) > 2, "the background loop survives failures"


def test_scheduler_first_run_at_once_then_every_interval() -> None:
    """start(first_delay=0): the first sync runs now, not after a whole interval; progress is kept."""
    ran = threading.Event()
    release = threading.Event()

    def sync(progress):
        progress("12,345 objects so far")
        ran.set()
        release.wait(5)
        return "ok"

    scheduler = SyncScheduler(sync, interval_seconds=3600)
    scheduler.start(first_delay=0)
    try:
        assert ran.wait(2), "the first run started at once"
        assert scheduler.running and scheduler.progress_line == "12,345 objects so far" and scheduler.ticks == 1
        release.set()
        deadline = time.monotonic() + 2
        while scheduler.running and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not scheduler.running and scheduler.version == 1
    finally:
        release.set()
        scheduler.stop(wait=True)


def test_scheduler_by_default_waits_an_interval() -> None:
    calls = []
    scheduler = SyncScheduler(lambda progress: calls.append(1), interval_seconds=3600)
    scheduler.start()
    time.sleep(0.3)
    scheduler.stop(wait=True)
    assert calls == []
