"""A sync killed with SIGKILL at several points resumes and ends equal to the source, no duplicates."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.mirror.test_sync import ROOT, assert_store_equals_source, cli_env, mutate_everything, run_cli

from core.emulator.launcher import EmulatorProcess
from core.mirror.store import Store


def _run_and_kill(env: dict[str, str], after: float) -> bool:
    """Start `python -m core.sync`, SIGKILL it after `after` seconds; True if it was still running."""
    process = subprocess.Popen([sys.executable, "-m", "core.sync", "--quiet"], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        process.wait(timeout=after)
        return False
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return True


def _progress(db: Path) -> tuple[int, int]:
    with Store(db) as store:
        done = store.cursor().execute("SELECT count(*) FILTER (WHERE done), count(*) FROM sync_state "
                                      "WHERE kind = 'backfill'").fetchone()
    assert done is not None
    return int(done[0]), int(done[1])


def test_killed_sync_resumes_to_exact_copy(fresh_emulator: EmulatorProcess, tmp_path: Path) -> None:
    db = tmp_path / "crash.duckdb"
    env = cli_env(fresh_emulator, db, rps=40)  # slow enough that the kills land mid-backfill
    killed = 0
    progress = []
    for after in (2.5, 4.0, 5.5):
        killed += _run_and_kill(env, after)
        progress.append(_progress(db))
    assert killed >= 2, "the sync finished before it could be killed; kill earlier"
    assert progress[-1][1] > 0, f"nothing was committed before the kills: {progress}"
    started = time.time()
    final = run_cli(env)
    assert final.returncode == 0, final.stderr
    with Store(db) as store:
        assert_store_equals_source(store, fresh_emulator, since=started)
        assert [r["status"] for r in store.runs()][-1] == "succeeded"

    mutate_everything(fresh_emulator)
    _run_and_kill(env, 1.0)  # kill the incremental sync too
    started = time.time()
    final = run_cli(env)
    assert final.returncode == 0, final.stderr
    with Store(db) as store:
        assert_store_equals_source(store, fresh_emulator, since=started)


def test_sync_killed_during_its_refresh_phase_loses_nothing(fresh_emulator: EmulatorProcess, tmp_path: Path) -> None:
    """Events commit before the refreshes they imply (py_ payments, balance transactions): a kill in
    between must not lose those refreshes; the next run replays the events behind them."""
    db = tmp_path / "refresh.duckdb"
    assert run_cli(cli_env(fresh_emulator, db)).returncode == 0
    mutate_everything(fresh_emulator)
    slow = cli_env(fresh_emulator, db, rps=3)  # the refresh phase now takes many seconds
    process = subprocess.Popen([sys.executable, "-m", "core.sync"], env=slow, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    try:
        for line in process.stdout:
            if line.startswith("refreshing what changed without events"):
                process.send_signal(signal.SIGKILL)
                break
    finally:
        process.kill()
        process.wait()
    with Store(db) as store:
        pending = store.cursor().execute("SELECT count(*) FROM sync_state WHERE kind = 'refresh'").fetchone()
    assert pending is not None and pending[0] > 0, "the kill did not land inside the refresh phase"
    started = time.time()
    final = run_cli(cli_env(fresh_emulator, db))
    assert final.returncode == 0, final.stderr
    with Store(db) as store:
        assert_store_equals_source(store, fresh_emulator, since=started)
        assert store.cursor().execute("SELECT count(*) FROM sync_state WHERE kind = 'refresh'").fetchone() == (0,)
