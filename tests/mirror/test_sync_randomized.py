"""Nothing lost, nothing duplicated: seeded randomized kills, faults, drops and clock offsets.

Each test draws its kill instants, source changes and fault rates from one seed, printed on failure
so a failing run can be replayed exactly: `CONNECT_OPS_TEST_SEED=<seed> pytest tests/mirror/...`.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from core.emulator.launcher import EmulatorProcess, start_emulator
from core.mirror.store import Store
from tests.mirror.test_sync import ROOT, SMALL, assert_store_equals_source, cli_env, control, mutate_everything, run_cli

SEED = int(os.environ.get("CONNECT_OPS_TEST_SEED", "20261202"))
KILLS = 22

# An action as the app runs it (core.support.actions), in a process of its own so it can be killed.
ACTION = textwrap.dedent("""
    import sys
    from core.actions import Context
    from core.auth import Actor, Role
    from core.mirror.store import Store
    from core.stripe_api import StripeApi
    from core.support.actions import plan_refund, refund_charge
    db, key, base, charge = sys.argv[1:5]
    with Store(db) as store:
        ctx = Context(store, StripeApi(key, base, max_rps=50))
        actor = Actor(email="kill@test.example", role=Role.ADMIN)
        plan = plan_refund(ctx, charge, "1", False, False)
        refund_charge(ctx, actor, plan, None, "randomized kill test")
""")


def _kill_after(command: list[str], env: dict[str, str], seconds: float) -> str:
    """Run a command, SIGKILL it after `seconds`; what happened, for the failure message."""
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    try:
        process.wait(timeout=seconds)
        return f"finished ({process.returncode})"
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return f"killed at {seconds:.2f}s"


def _refundable_charge(db: Path, rng: random.Random) -> str | None:
    with Store(db) as store:
        rows = store.cursor().execute(
            "SELECT id FROM charges WHERE account IS NULL AND status = 'succeeded' AND amount - amount_refunded > 100 "
            "ORDER BY id LIMIT 200").fetchall()
    return rng.choice(rows)[0] if rows else None


def _duplicates(db: Path) -> dict[str, int]:
    with Store(db) as store:
        return store.duplicate_keys()


def _emulator_now(emu: EmulatorProcess) -> float:
    """The emulator's clock (it may be offset from ours), read off its Date header (a control endpoint:
    never dropped by --drop-rate)."""
    import email.utils

    import httpx

    response = httpx.get(emu.base_url + "/_emulator/stats", headers={"Authorization": f"Bearer {emu.api_key}"})
    return email.utils.parsedate_to_datetime(response.headers["date"]).timestamp()


def test_random_kills_across_every_phase_end_equal_to_the_source(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    offset = rng.choice([-1, 1]) * rng.uniform(600, 3600)
    args = (*SMALL, "--latency-ms", "40", "--clock-offset", f"{offset:.0f}", "--error-rate", "0.02",
            "--drop-rate", "0.02")
    db = tmp_path / "random.duckdb"
    history: list[str] = []
    with start_emulator(*args) as emu:
        env = cli_env(emu, db, rps=100)
        sync_command = [sys.executable, "-m", "core.sync", "--quiet"]
        for n in range(KILLS):
            if n >= 3 and rng.random() < 0.35:  # the source changes between kills
                changed = control(emu, "POST", "/_emulator/mutate", fraction="0.004", seed=str(rng.randrange(10**6)))
                history.append(f"{n}: source changed ({changed['changed']})")
            charge = _refundable_charge(db, rng) if n >= 4 and rng.random() < 0.25 else None
            if charge is not None:  # an action killed mid-way (before, during or after its Stripe call)
                what = _kill_after([sys.executable, "-c", ACTION, str(db), emu.api_key, emu.base_url, charge], env,
                                   rng.uniform(0.2, 2.5))
                history.append(f"{n}: refund of {charge} {what}")
            what = _kill_after(sync_command, env, rng.uniform(0.3, 4.0))
            history.append(f"{n}: sync {what}")
            assert not _duplicates(db), f"seed {SEED}: duplicate keys after kill {n}: {_duplicates(db)}\n" + \
                "\n".join(history)
        mutate_everything(emu)
        started = _emulator_now(emu)
        final = run_cli(env, timeout=300)
        assert final.returncode == 0, f"seed {SEED}: {final.stderr}"
        with Store(db) as store:
            try:
                assert_store_equals_source(store, emu, since=started)
            except AssertionError as exc:
                raise AssertionError(f"seed {SEED}, clock offset {offset:.0f}s:\n{exc}\n" + "\n".join(history)) from None
            assert not store.duplicate_keys()
    assert sum("killed" in line for line in history) >= 20, "\n".join(history)


@pytest.mark.parametrize("offset", [-3600, 3600])
def test_a_skewed_clock_loses_no_change(offset: int, tmp_path: Path) -> None:
    """Stripe's clock an hour behind or ahead of ours: the incremental still sees every change."""
    db = tmp_path / "skew.duckdb"
    with start_emulator(*SMALL, "--clock-offset", str(offset)) as emu:
        env = cli_env(emu, db, rps=400)
        assert run_cli(env).returncode == 0
        mutate_everything(emu)
        started = _emulator_now(emu)
        result = run_cli(env)
        assert result.returncode == 0, result.stderr
        with Store(db) as store:
            assert_store_equals_source(store, emu, since=started)
            log = store.runs()[-1]["log"] or ""
        assert "clock is 3,6" in log and ("behind" if offset > 0 else "ahead of") in log, log


def test_dropped_connections_and_errors_are_retried_to_an_exact_copy(tmp_path: Path) -> None:
    db = tmp_path / "drops.duckdb"
    with start_emulator(*SMALL, "--error-rate", "0.10", "--drop-rate", "0.05") as emu:
        env = cli_env(emu, db, rps=400)
        started = time.time()
        result = run_cli(env, timeout=300)
        assert result.returncode == 0, result.stderr
        stats = control(emu, "GET", "/_emulator/stats")
        assert stats["dropped"] > 10 and stats["errors_injected"] > 10, stats
        with Store(db) as store:
            assert_store_equals_source(store, emu, since=started)


def test_a_down_api_fails_fast_with_its_cause(tmp_path: Path) -> None:
    """Every request refused: one line naming the cause within seconds, not minutes of retries."""
    env = {**os.environ, "STRIPE_API_KEY": "sk_test_unreachable123", "STRIPE_API_BASE": "http://127.0.0.1:9",
           "CONNECT_OPS_DB": str(tmp_path / "down.duckdb")}
    started = time.monotonic()
    result = run_cli(env, timeout=120)
    assert result.returncode == 1
    assert "cannot reach the Stripe API" in result.stderr and "connection refused" in result.stderr
    assert time.monotonic() - started < 30
