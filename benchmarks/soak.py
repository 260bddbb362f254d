"""Soak: the source changes in real time while incremental syncs run, with faults, drops, kills and a
skewed clock; after each round the mirror must equal the source. Prints every difference found.

    .venv/bin/python benchmarks/soak.py --rounds 30 --seconds 20          # the long run
    .venv/bin/python benchmarks/soak.py --rounds 3 --seconds 4 --seed 7   # what `make test` runs

Each round: a mutator changes the emulator for `--seconds` (the emulator's own mutations plus charges
and refunds through the real SDK) while incremental syncs run, some of them killed with SIGKILL at a
random instant; then the mutator stops, one clean incremental runs, and the mirror is compared with
the emulator's dump, table by table, and checked for duplicate keys. Randomness comes from `--seed`.
"""
from __future__ import annotations

import argparse
import email.utils
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from core.emulator.launcher import EmulatorProcess, start_emulator  # noqa: E402
from core.mirror.store import Store  # noqa: E402
from tests.mirror.test_sync import assert_store_equals_source, cli_env, control, dump, sdk  # noqa: E402


@dataclass
class SoakReport:
    seed: int
    clock_offset: int
    rounds: int = 0
    kills: int = 0
    changes: int = 0
    differences: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"soak: seed {self.seed}, clock offset {self.clock_offset:+d} s, {self.rounds} rounds, "
                f"{self.changes} source changes, {self.kills} syncs killed, {len(self.differences)} differences",
                *self.differences]


def emulator_now(emu: EmulatorProcess) -> float:
    response = httpx.get(emu.base_url + "/_emulator/stats", headers={"Authorization": f"Bearer {emu.api_key}"})
    return email.utils.parsedate_to_datetime(response.headers["date"]).timestamp()


class Mutator(threading.Thread):
    """Changes the source until stopped: the emulator's own mutations, charges and refunds."""

    def __init__(self, emu: EmulatorProcess, rng: random.Random) -> None:
        super().__init__(daemon=True)
        self.emu, self.rng = emu, rng
        self.stop_event = threading.Event()
        self.changes = 0
        self.errors: list[str] = []

    def run(self) -> None:
        client = sdk(self.emu)
        standard = [a["object"]["id"] for a in dump(self.emu, "connected_accounts")
                    if a["object"]["type"] == "standard" and a["object"]["charges_enabled"]
                    and a["object"]["default_currency"] == "usd"]
        while not self.stop_event.wait(self.rng.uniform(0.1, 0.5)):
            try:
                roll = self.rng.random()
                if roll < 0.6:
                    self.changes += control(self.emu, "POST", "/_emulator/mutate", fraction="0.001",
                                            seed=str(self.rng.randrange(10**6)))["changed"]
                elif roll < 0.8 or not standard:
                    charge = client.v1.charges.create({"amount": self.rng.randrange(500, 20000), "currency": "usd",
                                                       "source": "tok_visa"})
                    client.v1.refunds.create({"charge": charge.id, "amount": 100})
                    self.changes += 2
                else:  # a direct charge refunded with its fee: a credit no object of the account's scope names
                    account = {"stripe_account": self.rng.choice(standard)}
                    amount = self.rng.randrange(1000, 20000)
                    charge = client.v1.charges.create({"amount": amount, "currency": "usd", "source": "tok_visa",
                                                       "application_fee_amount": amount // 10}, account)
                    client.v1.refunds.create({"charge": charge.id, "refund_application_fee": True}, account)
                    self.changes += 2
            except Exception as exc:  # noqa: BLE001 - a fault the emulator injected into our own calls
                self.errors.append(type(exc).__name__)


def run_sync(env: dict[str, str], kill_after: float | None = None) -> bool:
    """One `python -m core.sync`; SIGKILLed after `kill_after` seconds if given. True if it was killed."""
    process = subprocess.Popen([sys.executable, "-m", "core.sync", "--quiet"], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _, err = process.communicate(timeout=kill_after if kill_after is not None else 600)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return True
    if process.returncode != 0:
        raise RuntimeError(f"sync failed: {err.strip()}")
    return False


def soak(rounds: int, seconds: float, seed: int, db: Path, scale: str = "small") -> SoakReport:
    rng = random.Random(seed)
    offset = rng.choice([-1, 1]) * rng.randrange(0, 3600)
    report = SoakReport(seed, offset)
    args = ("--scale", scale, "--seed", str(seed % 97), "--latency-ms", "20", "--error-rate", "0.03",
            "--drop-rate", "0.02", "--clock-offset", str(offset))
    with start_emulator(*args) as emu:
        env = cli_env(emu, db, rps=200)
        run_sync(env)
        for n in range(rounds):
            mutator = Mutator(emu, rng)
            mutator.start()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:  # incrementals beside the changes, some killed
                kill = rng.uniform(0.2, 3.0) if rng.random() < 0.4 else None
                report.kills += run_sync(env, kill)
            mutator.stop_event.set()
            mutator.join()
            report.changes += mutator.changes
            started = emulator_now(emu)
            run_sync(env)
            with Store(db) as store:
                try:
                    assert_store_equals_source(store, emu, since=started)
                except AssertionError as exc:
                    report.differences.append(f"round {n}: {exc}")
            report.rounds += 1
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15.0, help="how long the source changes each round")
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    parser.add_argument("--scale", default="small")
    parser.add_argument("--db", type=Path, default=None, help="mirror file (default: a temporary one)")
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "soak.duckdb"
        started = time.monotonic()
        report = soak(args.rounds, args.seconds, args.seed, db, args.scale)
    for line in report.lines():
        print(line)
    print(f"soak: {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
