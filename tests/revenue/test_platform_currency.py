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
from core.revenue import balances, queries
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
        # A €100.00 direct charge on another merchant, refunded in full at once: its balance goes below zero.
        other = client.v1.accounts.create(params={"type": "custom", "country": "DE"}).id
        direct = client.v1.charges.create(params={"amount": 10_000, "currency": "eur", "source": "tok_visa"},
                                          options={"stripe_account": other})
        client.v1.refunds.create(params={"charge": direct.id}, options={"stripe_account": other})
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
    # The direct charge is GMV (and refunded volume) but neither revenue nor the platform's fee.
    assert (converted.currency, converted.gmv, converted.revenue, converted.stripe_fees) == ("eur", 25_000, 1_500,
                                                                                            320 + 175)
    assert (converted.refunded, converted.losses) == (10_000, 0), "a direct charge's refund is the account's"
    assert queries.unconverted(facts) == []


def test_balances_and_float(eur_platform: Store) -> None:
    """Worked by hand from the objects (Stripe: a balance transaction's net is pending until available_on,
    2 days after a card charge here; a refund's is at once). Platform: 96.80 - 100.00 + 10.00 (the fee) +
    48.25 - 45.00 = 10.05 pending. The destination merchant: 90.00 + 45.00 pending. The direct merchant: 96.80
    pending and -100.00 available: its balance is -3.20, a negative balance outstanding."""
    today = utc_now().date()
    (eur,) = balances.float_at(eur_platform.cursor(), balances.end_of(today), "eur")
    assert (eur.currency, eur.platform_available, eur.platform_pending) == ("eur", 0, 1_005)
    assert (eur.accounts_available, eur.accounts_pending) == (-10_000, 13_500 + 9_680)
    assert (eur.negative_outstanding, eur.negative_accounts, eur.awaiting_transfer) == (320, 1, 0)
    series = balances.float_series(eur_platform.cursor(), today - timedelta(days=3), today, "eur")
    assert series[-1].model_dump(exclude={"day"}) == eur.model_dump() and series[-1].day == today
    assert all(p.platform_pending == 0 for p in series if p.day < today - timedelta(days=1))
