"""Risk tests: emulator processes reached through the real SDK, mirrored by a real sync into DuckDB files.

`world` is one small demo platform the action and review tests may change (each picks its own accounts);
the signal and ranking modules start their own, shaped for what they check.
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe

from core.actions import Context
from core.app.runtime import run_sync
from core.emulator.launcher import EmulatorProcess, start_emulator
from core.mirror.store import Store
from core.settings import Settings
from core.stripe_api import StripeApi

DAY = 86_400


def synced_store(emulator: EmulatorProcess, path: Path) -> Store:
    """A fresh mirror of the emulator, filled by one real sync over HTTP."""
    settings = Settings(stripe_api_key=emulator.api_key, stripe_api_base=emulator.base_url, connect_ops_db=path,
                        connect_ops_max_rps=400, connect_ops_max_rps_per_endpoint=400)
    store = Store(path)
    run_sync(settings, store)
    return store


def api(emulator: EmulatorProcess, version: str | None = None) -> StripeApi:
    return StripeApi(emulator.api_key, emulator.base_url, max_rps=400, max_rps_per_endpoint=400, stripe_version=version)


def sdk(emulator: EmulatorProcess, version: str | None = None) -> stripe.StripeClient:
    return stripe.StripeClient(emulator.api_key, base_addresses={"api": emulator.base_url}, stripe_version=version,
                               max_network_retries=0)


def new_account(client: stripe.StripeClient, name: str, kind: str = "custom", bank_number: str | None = None) -> str:
    """A connected account created through the API (nothing due), optionally with a given bank account number."""
    params: dict[str, Any] = {"type": kind, "country": "US", "email": f"{name.lower().replace(' ', '.')}@example.com",
                              "business_profile": {"name": name}}
    if bank_number:
        params["external_account"] = {"object": "bank_account", "country": "US", "currency": "usd",
                                      "account_number": bank_number, "routing_number": "110000000"}
    return client.v1.accounts.create(params=params).id  # type: ignore[arg-type]


def charge(client: stripe.StripeClient, account: str, amount: int = 5_000, source: str = "tok_visa",
           direct: bool = False) -> Any:
    """A USD card charge for the account: a destination charge, or with `direct` one in its own scope.
    A declined token returns None (the attempt is still recorded, as on Stripe)."""
    params: dict[str, Any] = {"amount": amount, "currency": "usd", "source": source}
    options: dict[str, Any] = {}
    if direct:
        options["stripe_account"] = account
    else:
        params["transfer_data"] = {"destination": account}
    try:
        return client.v1.charges.create(params=params, options=options)  # type: ignore[arg-type]
    except stripe.CardError:
        return None


def demo_profiles(seed: int, scale: str = "small") -> dict[str, str]:
    """Account id -> the profile the demo seed gave it ('bad', 'spike', 'dormant', 'normal').

    The seed draws every account (ids and profiles) before any activity, from its own random stream, so
    replaying that first loop gives the same accounts whatever the anchor day."""
    from core.emulator import seed as demo
    from core.emulator.state import State

    state, rng = State(seed=seed, now=lambda: 0), random.Random(seed)
    return {rec["id"]: rec["_profile"]
            for rec in (demo._account(state, rng, i, 0) for i in range(demo.scale_of(scale).accounts))}


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Context, EmulatorProcess]]:
    """A small demo platform the risk tests may change, mirrored once into its own DuckDB file."""
    with start_emulator("--scale", "small", "--seed", "3") as emulator:
        store = synced_store(emulator, tmp_path_factory.mktemp("risk_world") / "risk.duckdb")
        yield Context(store, api(emulator)), emulator
        store.close()
