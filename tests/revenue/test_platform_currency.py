"""A EUR-only platform (its account's default_currency is eur, every charge in EUR): its converted view is in
EUR, not an empty USD one. Through the emulator (`--platform-currency eur`, no demo) and the sync."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from core.clock import utc_now
from core.emulator.launcher import start_emulator
from core.mirror.store import Store
from core.mirror.sync import sync
from core.revenue import queries
from tests.mirror.test_sync import api_for, sdk


@pytest.fixture(scope="module")
def eur_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with start_emulator("--scale", "empty", "--platform-currency", "eur") as emulator:
        client = sdk(emulator)
        assert client.v1.accounts.retrieve_current().default_currency == "eur"
        merchant = client.v1.accounts.create(params={"type": "custom", "country": "DE"}).id
        # €100.00 destination charge with a €10.00 fee; €50.00 with transfer_data[amount] = €45.00 (€5.00 kept).
        client.v1.charges.create(params={"amount": 10_000, "currency": "eur", "source": "tok_visa",
                                         "application_fee_amount": 1_000, "transfer_data": {"destination": merchant}})
        client.v1.charges.create(params={"amount": 5_000, "currency": "eur", "source": "tok_visa",
                                         "transfer_data": {"destination": merchant, "amount": 4_500}})
        store = Store(tmp_path_factory.mktemp("revenue-eur") / "mirror.duckdb")
        sync(store, api_for(emulator, rps=400))
        yield store
        store.close()


def test_a_eur_only_platform_is_viewed_in_eur(eur_platform: Store) -> None:
    today = utc_now().date()
    facts = queries.facts(eur_platform.cursor(), today - timedelta(days=1), today + timedelta(days=1))
    assert facts.platform_currency == "eur"
    converted = queries.total(facts, None)
    # Stripe's fees: 2.9% + 30 cents on each (2.90 + 0.30, 1.45 + 0.30), on the platform's balance: 3.20 + 1.75.
    assert (converted.currency, converted.gmv, converted.revenue, converted.stripe_fees) == ("eur", 15_000, 1_500, 320 + 175)
    assert queries.unconverted(facts) == []
