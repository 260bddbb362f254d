"""The revenue cache refreshed incrementally equals one built from scratch, whatever changed in the mirror:
new charges, refunds and disputes on old ones, transfers made later, fee refunds, objects that left."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pandas as pd
import pytest

from core import clock
from core.emulator.launcher import start_emulator
from core.mirror.store import Store
from core.mirror.sync import sync
from core.revenue import cache, queries
from tests.mirror.test_sync import api_for, control, sdk
from tests.revenue.conftest import SMALL


@pytest.fixture
def live(tmp_path) -> Iterator[tuple[object, object, Store]]:
    with start_emulator(*SMALL) as emulator:
        store = Store(tmp_path / "mirror.duckdb")
        sync(store, api_for(emulator, rps=400))
        yield emulator, sdk(emulator), store
        store.close()


def _all(store: Store) -> pd.DataFrame:
    """Every row of the cache, in a stable order (what period queries sum)."""
    return store.cursor().execute(f"SELECT * FROM {cache.FACTS} ORDER BY ALL").df()


def _rebuilt(store: Store) -> pd.DataFrame:
    cur = store.cursor()
    cur.execute(f"DELETE FROM {cache.CACHE}.marks")
    cache.ensure(cur, queries.platform_currency(cur))
    return _all(store)


def test_incremental_refresh_equals_a_rebuild(live) -> None:
    emulator, client, store = live
    cache.ensure(store.cursor(), "usd")
    before = _all(store)
    old = store.cursor().execute(
        "SELECT id FROM charges WHERE account IS NULL AND transfer_destination_id IS NOT NULL AND status = 'succeeded' "
        "AND NOT refunded AND NOT disputed AND application_fee_id IS NOT NULL ORDER BY created LIMIT 2").fetchall()
    account = next(a.id for a in client.v1.accounts.list(params={"limit": 100}).auto_paging_iter()
                   if a.type == "express")
    client.v1.charges.create(params={"amount": 5_000, "currency": "usd", "source": "tok_visa",
                                     "transfer_data": {"destination": account, "amount": 4_000}})
    client.v1.refunds.create(params={"charge": old[0][0], "amount": 100, "refund_application_fee": True,
                                     "reverse_transfer": True})
    dispute = control(emulator, "POST", "/_emulator/disputes", charge=old[1][0])
    control(emulator, "POST", f"/_emulator/disputes/{dispute['id']}/close", status="lost")
    separate = client.v1.charges.create(params={"amount": 9_000, "currency": "eur", "source": "tok_visa"})
    client.v1.transfers.create(params={"amount": 8_000, "currency": "eur", "destination": account,
                                       "source_transaction": separate.id})
    control(emulator, "POST", f"/_emulator/accounts/{account}/cover_negative_balance", amount=700, currency="usd")
    sync(store, api_for(emulator, rps=400))
    cache.ensure(store.cursor(), "usd")
    refreshed = _all(store)
    assert (~refreshed["shift"]).sum() == (~before["shift"]).sum() + 3, \
        "two charges (no fee objects) and a cover: three new rows"
    assert refreshed["shift"].sum() > before["shift"].sum(), "the refund and the dispute move to their own day"
    assert not refreshed.equals(before)
    pd.testing.assert_frame_equal(refreshed, _rebuilt(store))


def test_an_object_leaving_the_mirror_rebuilds(live) -> None:
    _, _, store = live
    cache.ensure(store.cursor(), "usd")
    with store.transaction() as conn:
        conn.execute("DELETE FROM charges WHERE id = (SELECT min(id) FROM charges WHERE account IS NULL "
                     "AND source_transfer_id IS NULL AND status = 'succeeded')")
    cache.ensure(store.cursor(), "usd")
    pd.testing.assert_frame_equal(_all(store), _rebuilt(store))
    today = clock.today()
    assert queries.facts(store.cursor(), today - timedelta(days=800), today).by_day["gmv"].sum() > 0
