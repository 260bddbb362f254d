"""Shared fixtures: a real emulator process, reached over HTTP through the real stripe SDK."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from core.emulator.launcher import EmulatorProcess, start_emulator

SMALL = ("--scale", "small", "--seed", "1")


def pytest_configure(config: pytest.Config) -> None:
    """A bad CONNECT_OPS_NOW stops the run in one line, before any test (core/clock.py)."""
    from core import clock

    pinned = clock.pinned_text()
    if pinned is not None:
        try:
            clock.parse_instant(pinned)
        except clock.ClockError as exc:
            raise pytest.UsageError(str(exc)) from None


def pytest_report_header() -> str:
    """Which clock the run uses: CONNECT_OPS_NOW pins it (and every emulator the tests start)."""
    import os

    from core import clock

    pinned = clock.pinned_text()
    zone = os.environ.get("TZ") or "the machine's"
    return f"clock: {'pinned at ' + pinned if pinned else 'this machine'} (UTC); local zone: {zone}"


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorProcess]:
    """One small demo platform for read-only tests; tests that write use `fresh_emulator`."""
    with start_emulator(*SMALL) as process:
        yield process


@pytest.fixture
def fresh_emulator() -> Iterator[EmulatorProcess]:
    with start_emulator(*SMALL) as process:
        yield process


def client_for(process: EmulatorProcess, api_key: str | None = None, retries: int = 0) -> stripe.StripeClient:
    return stripe.StripeClient(api_key or process.api_key, base_addresses={"api": process.base_url},
                               max_network_retries=retries)


@pytest.fixture(scope="session")
def client(emulator: EmulatorProcess) -> stripe.StripeClient:
    return client_for(emulator)


@pytest.fixture
def fresh_client(fresh_emulator: EmulatorProcess) -> stripe.StripeClient:
    return client_for(fresh_emulator)


@pytest.fixture(scope="session")
def synced_store(emulator: EmulatorProcess, tmp_path_factory: pytest.TempPathFactory):
    """A DuckDB mirror of the session's small demo, filled by one real sync over HTTP. Read-only use."""
    from core.app.runtime import run_sync
    from core.settings import Settings
    from core.mirror.store import Store

    settings = Settings(stripe_api_key=emulator.api_key, stripe_api_base=emulator.base_url,
                        connect_ops_db=tmp_path_factory.mktemp("synced") / "mirror.duckdb",
                        connect_ops_max_rps=400, connect_ops_max_rps_per_endpoint=400)
    store = Store(settings.connect_ops_db)
    run_sync(settings, store)
    yield store
    store.close()
