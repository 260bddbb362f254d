"""The platform's clock (core/clock.py) and CONNECT_OPS_NOW: one line for bad input, refused with a Stripe
key, UTC whatever the machine's zone, and the emulator started at the same instant (its history ends that day)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import stripe

from core import clock
from core.emulator.launcher import start_emulator
from core.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[1]
DAY = 86_400


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in ("STRIPE_API_KEY", "STRIPE_API_BASE", "CONNECT_OPS_NOW"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no secrets.toml
    yield
    clock.pin(None)


@pytest.mark.parametrize("text", ["2027-01-01T00:00:30Z", "2027-01-01T00:00:30+00:00", "2027-01-01T00:00:30",
                                  " 2027-01-01 00:00:30z "])
def test_an_iso_instant_in_utc_is_read(text: str) -> None:
    assert clock.parse_instant(text) == datetime(2027, 1, 1, 0, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize("text, words", [
    ("tomorrow", "ISO instant in UTC"), ("2027-02-30T00:00:00Z", "ISO instant in UTC"),
    ("2027-01-01T09:00:00+09:00", "must be in UTC"), ("1970-01-01T00:00:00Z", "between 2000-01-01 and 2100-01-01"),
    ("2100-01-01T00:00:00Z", "between"), ("", "ISO instant")])
def test_a_bad_instant_is_one_line_naming_the_setting(monkeypatch: pytest.MonkeyPatch, text: str, words: str) -> None:
    if not text:  # empty means unset for the setting; the parser itself refuses it
        with pytest.raises(clock.ClockError, match=words):
            clock.parse_instant(text)
        assert load_settings().connect_ops_now is None
        return
    monkeypatch.setenv("CONNECT_OPS_NOW", text)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith("CONNECT_OPS_NOW") and words in message and "\n" not in message


def test_refused_with_a_stripe_key_allowed_in_demo_mode_and_on_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECT_OPS_NOW", "2027-01-01T00:00:30Z")
    assert load_settings().demo_mode
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_clockpinned1")
    with pytest.raises(SettingsError, match="^CONNECT_OPS_NOW pins the clock only in demo mode and tests"):
        load_settings()
    monkeypatch.setenv("STRIPE_API_BASE", "http://127.0.0.1:12111")  # the local emulator
    assert load_settings().connect_ops_now == datetime(2027, 1, 1, 0, 0, 30, tzinfo=UTC)


def test_the_command_line_refuses_it_in_one_line_with_a_stripe_key(tmp_path: Path) -> None:
    env = {**os.environ, "CONNECT_OPS_NOW": "2027-01-01T00:00:30Z", "STRIPE_API_KEY": "sk_test_clockpinned1",
           "CONNECT_OPS_DB": str(tmp_path / "none.duckdb")}
    done = subprocess.run([sys.executable, "-m", "core.cli", "query", "SELECT 1"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and not done.stdout
    assert done.stderr.count("\n") == 1 and "unset CONNECT_OPS_NOW" in done.stderr


def test_a_pinned_clock_starts_at_the_instant_and_runs_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECT_OPS_NOW", "2028-02-29T23:59:59.5Z")
    first = clock.now()
    assert datetime(2028, 2, 29, 23, 59, 59, 500000, tzinfo=UTC) <= first < datetime(2028, 3, 1, 0, 0, 1, tzinfo=UTC)
    time.sleep(0.6)
    assert clock.today() == date(2028, 3, 1) and clock.now() > first  # a leap day ends like any other
    assert clock.utc_now().tzinfo is None


def test_today_is_utc_whatever_the_machines_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """At 12:00 UTC on 31 December it is already 1 January in Kiritimati (UTC+14): today is still the 31st."""
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    time.tzset()
    try:
        monkeypatch.setenv("CONNECT_OPS_NOW", "2026-12-31T12:00:00Z")
        assert clock.today() == date(2026, 12, 31)
        assert time.localtime(clock.timestamp()).tm_mday == 1  # the machine's zone really is ahead
        monkeypatch.delenv("CONNECT_OPS_NOW")
        assert clock.today() == datetime.now(UTC).date()
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_the_emulator_starts_at_the_pinned_instant_and_its_history_ends_that_day(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECT_OPS_NOW", "2028-02-29T12:00:00Z")
    midnight = int(datetime(2028, 2, 29, tzinfo=UTC).timestamp())
    with start_emulator("--scale", "small", "--seed", "1") as emulator:
        client = stripe.StripeClient(emulator.api_key, base_addresses={"api": emulator.base_url},
                                     max_network_retries=0)
        newest = client.v1.charges.list({"limit": 1}).data[0]
        assert midnight - 30 * DAY < newest.created < midnight, "the seeded history ends before the pinned day"
        made = client.v1.charges.create({"amount": 1_000, "currency": "usd", "source": "tok_visa"})
        assert abs(made.created - clock.timestamp()) < 120, "a new charge is made at the pinned clock's time"


def test_a_bad_now_flag_is_one_line() -> None:
    done = subprocess.run([sys.executable, "-m", "core.emulator", "--now", "2027-13-01"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--now: must be an ISO instant in UTC" in done.stderr
