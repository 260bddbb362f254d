"""`--state-file`: what the emulator acknowledged survives a stop, and a kill -9 at any instant.

Every write goes through the real stripe SDK over HTTP; each restart is a new emulator process.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import stripe

from core.emulator.launcher import EmulatorProcess, start_emulator
from tests.conftest import SMALL, client_for


def _start(state_file: Path, *extra: str) -> EmulatorProcess:
    return start_emulator(*SMALL, "--state-file", str(state_file), *extra)


def _first_express(client: stripe.StripeClient) -> str:
    return next(a.id for a in client.v1.accounts.list({"limit": 100}).data if a.type == "express")


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "emulator.state"
    with _start(state_file) as first:
        assert not first.restored and first.instance
        client = client_for(first)
        account = _first_express(client)
        client.v1.accounts.update(account, {"metadata": {"kept": "yes"}})
        charge = client.v1.charges.create({"amount": 1234, "currency": "usd", "source": "tok_visa"},
                                          {"idempotency_key": "persist-charge-1"})
        refund = client.v1.refunds.create({"charge": charge.id, "amount": 200})
        added = requests.post(f"{first.base_url}/_emulator/accounts/{account}/external_accounts", data={"last4": "6789"},
                              headers={"Authorization": f"Bearer {first.api_key}"}, timeout=30).json()["id"]
        client.v1.accounts.external_accounts.delete(account, added)  # a DELETE is a write too
        banks = [b.id for b in client.v1.accounts.retrieve(account).external_accounts.data]
        events_before = client.v1.events.list({"limit": 5}).data
    with _start(state_file) as second:
        assert second.restored and second.instance == first.instance
        client = client_for(second)
        assert client.v1.accounts.retrieve(account).metadata["kept"] == "yes"
        assert [b.id for b in client.v1.accounts.retrieve(account).external_accounts.data] == banks
        assert added not in banks
        again = client.v1.charges.retrieve(charge.id)
        assert (again.amount, again.amount_refunded) == (1234, 200)
        assert client.v1.refunds.retrieve(refund.id).charge == charge.id
        assert [e.id for e in client.v1.events.list({"limit": 5}).data] == [e.id for e in events_before]
        # the idempotency key is remembered too: the same request answers the same charge
        replay = client.v1.charges.create({"amount": 1234, "currency": "usd", "source": "tok_visa"},
                                          {"idempotency_key": "persist-charge-1"})
        assert replay.id == charge.id
        # ids made after the restart are new (the seeded id generator would repeat earlier ones)
        fresh = client.v1.charges.create({"amount": 99, "currency": "usd", "source": "tok_visa"})
        assert fresh.id != charge.id
        assert client.v1.charges.retrieve(charge.id).amount == 1234


def test_another_seed_starts_afresh(tmp_path: Path) -> None:
    state_file = tmp_path / "emulator.state"
    with _start(state_file) as first:
        pass
    with start_emulator("--scale", "small", "--seed", "2", "--state-file", str(state_file)) as other:
        assert not other.restored and other.instance != first.instance
    with start_emulator("--scale", "small", "--seed", "2", "--state-file", str(state_file)) as same:
        assert same.restored and same.instance == other.instance


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_9_after_acknowledged_writes_loses_none(tmp_path: Path, seed: int) -> None:
    """Writes stream in; the emulator is killed at a seeded random instant; every write that was
    answered is there after the restart (the one in flight may or may not be: it was never answered)."""
    rng = random.Random(seed)
    state_file = tmp_path / "emulator.state"
    charges: list[str] = []  # every charge whose creation was answered
    pointed: list[str] = []  # the charge the account's metadata names, after each answered update
    process = _start(state_file)
    client = client_for(process)
    account = _first_express(client)

    def write() -> None:
        for n in range(1, 10_000):
            try:
                charge = client.v1.charges.create({"amount": 100 + n, "currency": "usd", "source": "tok_visa"})
                charges.append(charge.id)
                client.v1.accounts.update(account, {"metadata": {"last_charge": charge.id}})
                pointed.append(charge.id)
            except stripe.StripeError:
                return  # the emulator is gone: the request in flight was never answered

    writer = threading.Thread(target=write)
    writer.start()
    time.sleep(rng.uniform(0.3, 1.5))
    process.process.send_signal(signal.SIGKILL)
    process.process.wait()
    writer.join()
    process.stop()
    assert pointed, "some writes were answered before the kill"
    with _start(state_file) as restarted:
        assert restarted.restored and restarted.instance == process.instance
        again = client_for(restarted)
        for charge_id in charges:
            assert again.v1.charges.retrieve(charge_id).amount > 100
        last = again.v1.accounts.retrieve(account).metadata["last_charge"]
        # the last answered update, or a later one that was in flight (it names an answered charge)
        assert last in charges and charges.index(last) >= charges.index(pointed[-1])


def test_emulator_exits_when_its_parent_is_killed(tmp_path: Path) -> None:
    """A `kill -9` of the app must not leave its emulator behind (holding the port and the state file)."""
    code = ("import sys, time; from core.emulator.launcher import start_emulator; "
            "p = start_emulator('--scale', 'small', '--state-file', sys.argv[1]); "
            "print(p.process.pid, flush=True); time.sleep(120)")
    parent = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "emulator.state")],
                              stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{child}/stat") as stat:
                if stat.read().split()[2] == "Z":
                    break
        except FileNotFoundError:
            break
        time.sleep(0.05)
    else:
        os.kill(child, signal.SIGKILL)
        pytest.fail("the emulator outlived its parent")
