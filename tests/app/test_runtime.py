"""The runtime: a demo restart keeps its mirror (and only then); the first sync starts at once, in the
background, with progress; until data exists the runtime says "no data yet", not 0."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import stripe

from core.app.demo import marker_for, state_file_for
from core.app.runtime import Runtime, build_runtime
from core.emulator.launcher import EmulatorProcess
from core.settings import Settings


def _demo(tmp_path: Path) -> Settings:
    return Settings(stripe_api_key=None, connect_ops_db=tmp_path / "demo.duckdb", connect_ops_demo_scale="small",
                    connect_ops_demo_seed=1)


def _client(runtime: Runtime) -> stripe.StripeClient:
    return stripe.StripeClient(runtime.settings.stripe_api_key or "",
                               base_addresses={"api": runtime.settings.stripe_api_base})


def _mirrored(runtime: Runtime, account: str) -> tuple[int, str | None]:
    db = runtime.store.cursor()
    count = db.execute("SELECT count(*) FROM connected_accounts").fetchone()[0]
    row = db.execute("SELECT json_extract_string(raw, '$.metadata.restart') FROM connected_accounts WHERE id = ?",
                     [account]).fetchone()
    return count, row[0] if row else None


def test_demo_runtime_keeps_its_mirror_on_restart(tmp_path: Path) -> None:
    settings = _demo(tmp_path)
    first = build_runtime(settings)
    try:
        assert not first.emulator.restored and not first.has_data()
        first.start()
        first.wait_for_first_sync(300)
        account = _client(first).v1.accounts.list({"limit": 1}).data[0].id
        _client(first).v1.accounts.update(account, {"metadata": {"restart": "kept"}})
        first.scheduler.run_once()  # the incremental sync brings the change into the mirror
        before = _mirrored(first, account)
        instance = first.emulator.instance
    finally:
        first.close()
    assert before[1] == "kept"

    second = build_runtime(settings)
    try:
        assert second.emulator.restored and second.emulator.instance == instance
        assert second.has_synced() and second.loading_notice() is None, "usable before any sync of its own"
        assert _mirrored(second, account) == before
        assert _client(second).v1.accounts.retrieve(account).metadata["restart"] == "kept"
        assert 0 < second.first_sync_delay() <= 10, "demo mode catches up with an incremental sync soon"
    finally:
        second.close()

    state_file_for(settings.connect_ops_db).unlink()  # a mirror whose platform is gone is never kept
    third = build_runtime(settings)
    try:
        assert not third.emulator.restored and third.emulator.instance != instance
        assert not third.has_data() and not third.has_synced()
    finally:
        third.close()

    marker_for(settings.connect_ops_db).unlink()  # nor one that cannot say which platform it mirrors
    fourth = build_runtime(settings)
    try:
        assert fourth.emulator.restored and not fourth.has_data()
    finally:
        fourth.close()


APP_KILLED_AFTER_A_WRITE = """
import sys, time
from pathlib import Path
import stripe
from core.app.runtime import build_runtime
from core.settings import Settings
runtime = build_runtime(Settings(stripe_api_key=None, connect_ops_db=Path(sys.argv[1]),
                                 connect_ops_demo_scale="small", connect_ops_demo_seed=1))
runtime.start()
runtime.wait_for_first_sync(300)
client = stripe.StripeClient(runtime.settings.stripe_api_key, base_addresses={"api": runtime.settings.stripe_api_base})
account = client.v1.accounts.list({"limit": 1}).data[0].id
client.v1.accounts.update(account, {"metadata": {"restart": "acknowledged"}})
print(account, flush=True)
time.sleep(120)
"""


def test_kill_9_of_the_app_after_an_acknowledged_write(tmp_path: Path) -> None:
    """The app process dies (and with it, its emulator) right after the emulator answered a write: the
    restarted app keeps its mirror, the platform still has the write, and the next sync brings it in."""
    settings = _demo(tmp_path)
    app = subprocess.Popen([sys.executable, "-c", APP_KILLED_AFTER_A_WRITE, str(settings.connect_ops_db)],
                           stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    assert app.stdout is not None
    account = app.stdout.readline().strip()
    app.kill()
    app.wait()
    assert account.startswith("acct_"), "the app answered its write before the kill"
    restarted = build_runtime(settings)
    try:
        assert restarted.emulator.restored and restarted.has_synced(), "the mirror is kept"
        assert _client(restarted).v1.accounts.retrieve(account).metadata["restart"] == "acknowledged"
        restarted.scheduler.run_once()
        assert _mirrored(restarted, account)[1] == "acknowledged"
    finally:
        restarted.close()


def test_real_key_first_sync_starts_at_once_with_progress(emulator: EmulatorProcess, tmp_path: Path) -> None:
    settings = Settings(stripe_api_key=emulator.api_key, stripe_api_base=emulator.base_url,
                        connect_ops_db=tmp_path / "mirror.duckdb", connect_ops_sync_interval_minutes=10,
                        connect_ops_max_rps=400, connect_ops_max_rps_per_endpoint=400)
    runtime = build_runtime(settings)
    try:
        assert not runtime.demo and not runtime.has_data() and runtime.first_sync_delay() == 0
        runtime.start()
        deadline = time.monotonic() + 2
        while not (runtime.scheduler.running or runtime.has_synced()) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert runtime.scheduler.running or runtime.has_synced(), "the first sync started at once"
        notices = set()
        while not runtime.has_synced() and time.monotonic() < deadline + 300:
            notices.add(runtime.loading_notice())
            if not runtime.has_data():
                assert runtime.no_data_text() == "No data yet — the first sync is running"
            time.sleep(0.05)
        runtime.wait_for_first_sync(10)
        # one client per process: the sync's requests and the actions' share one rate budget
        assert runtime.api is not None and runtime.action_context().api is runtime.api
        assert runtime.api.stats.requests > 0, "the sync did not go through the runtime's client"
        # after the sync, in the scheduler's thread: the revenue cache is built before anyone opens Revenue
        facts = None
        while facts is None and time.monotonic() < deadline + 360:
            try:
                facts = runtime.store.cursor().execute("SELECT count(*) FROM revenue_cache.facts").fetchone()[0]
            except duckdb.Error:
                time.sleep(0.1)
        assert facts, "the revenue cache was not built after the first sync"
        assert any(n and n.startswith("Loading the platform from Stripe: ") and "objects so far; figures are "
                   "partial until it finishes." in n for n in notices), notices
        assert runtime.has_data() and runtime.loading_notice() is None and runtime.no_data_text() is None
    finally:
        runtime.close()

    again = build_runtime(settings)  # a restart with a real key: the next sync one interval after the last
    try:
        assert again.has_synced() and 500 < again.first_sync_delay() <= 600
    finally:
        again.close()


def test_close_stops_a_sync_under_way_at_once(tmp_path: Path) -> None:
    """Closing (also at exit) cancels the sync in flight instead of leaving DuckDB work in a daemon thread
    (issue 18: exit 134 after a page rendered); the run is recorded as stopped (the next one resumes it,
    as after a kill: tests/mirror/test_sync_crash.py)."""
    from core.emulator.launcher import start_emulator
    from core.mirror.store import Store

    with start_emulator("--scale", "small", "--seed", "1", "--latency-ms", "400") as emulator:
        settings = Settings(stripe_api_key=emulator.api_key, stripe_api_base=emulator.base_url,
                            connect_ops_db=tmp_path / "mirror.duckdb", connect_ops_max_rps=400,
                            connect_ops_max_rps_per_endpoint=400)
        runtime = build_runtime(settings)
        runtime.start()  # the first sync at once: about 860 requests of 0.4 s each
        deadline = time.monotonic() + 60
        while not runtime.store.has_rows() and time.monotonic() < deadline:
            time.sleep(0.1)
        started = time.monotonic()
        runtime.close()
        assert time.monotonic() - started < 15, "the requests under way finish; no new ones start"
        assert not runtime.scheduler.running
        with Store(settings.connect_ops_db) as store:
            run = store.runs()[-1]
            assert (run["status"], run["error"]) == ("failed", "stopped: the process is exiting")
