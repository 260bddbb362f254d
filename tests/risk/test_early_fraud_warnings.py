"""Radar's early fraud warnings reach the mirror per scope, by their events and by a full listing, and count in
VAMP (https://docs.stripe.com/api/radar/early_fraud_warnings)."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.actions import Context
from core.app.runtime import run_sync
from core.settings import Settings
from tests.mirror.test_sync import control
from tests.risk.conftest import charge, new_account, sdk, synced_store


def _rows(ctx_store, ids: list[str]) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in ctx_store.cursor().execute(
        "SELECT id, scope, account, charge_id, fraud_type, actionable FROM early_fraud_warnings "
        "WHERE list_contains(?, id)", [ids]).fetchall()}


def test_warnings_are_mirrored_per_scope_from_events_and_listings(world, tmp_path: Path) -> None:
    ctx, emulator = world
    client = sdk(emulator)
    standard = new_account(client, "Warned Direct Goods", kind="standard")
    direct = charge(client, standard, 4_000, direct=True)        # in the connected account's scope
    express = new_account(client, "Warned Destination Goods", kind="express")
    destination = charge(client, express, 4_000)                  # in the platform's scope
    made = {}
    for ch in (direct, destination):
        made[ch.id] = control(emulator, "POST", f"/_emulator/charges/{ch.id}/early_fraud_warning",
                              fraud_type="made_with_stolen_card")
    listed = client.v1.radar.early_fraud_warnings.list(params={"charge": direct.id}, options={"stripe_account": standard})
    assert [w.id for w in listed.data] == [made[direct.id]["id"]]
    assert listed.data[0].object == "radar.early_fraud_warning" and listed.data[0].actionable is True
    assert not client.v1.radar.early_fraud_warnings.list(params={"charge": direct.id}).data, "not the platform's"
    settings = Settings(stripe_api_key=emulator.api_key, stripe_api_base=emulator.base_url,
                        connect_ops_db=ctx.store.path, connect_ops_max_rps=400, connect_ops_max_rps_per_endpoint=400)
    run_sync(settings, ctx.store)  # incremental: the radar.early_fraud_warning.created events
    ids = [w["id"] for w in made.values()]
    expected = {made[direct.id]["id"]: (standard, standard, direct.id, "made_with_stolen_card", True),
                made[destination.id]["id"]: ("", None, destination.id, "made_with_stolen_card", True)}
    assert _rows(ctx.store, ids) == expected
    fresh = synced_store(emulator, tmp_path / "fresh.duckdb")  # a full listing of every scope finds them too
    try:
        assert _rows(fresh, ids) == expected
    finally:
        fresh.close()


@pytest.mark.parametrize("kind", ["express"])
def test_a_warning_on_a_disputed_sale_counts_once_for_vamp(world, kind: str) -> None:
    from core.clock import utc_now
    from core.risk.signals import account_metrics

    ctx, emulator = world
    client = sdk(emulator)
    account = new_account(client, "Reported Goods", kind=kind)
    sales = [charge(client, account, 3_000) for _ in range(6)]
    disputed = charge(client, account, 3_000, "tok_createDispute")
    for ch in (sales[0], sales[1], disputed):
        control(emulator, "POST", f"/_emulator/charges/{ch.id}/early_fraud_warning")
    settings = Settings(stripe_api_key=emulator.api_key, stripe_api_base=emulator.base_url,
                        connect_ops_db=ctx.store.path, connect_ops_max_rps=400, connect_ops_max_rps_per_endpoint=400)
    run_sync(settings, Context(ctx.store, ctx.api).store)
    m = account_metrics(ctx.store.cursor(), utc_now(), account)[0]
    assert (m.visa_month.disputes, m.visa_month.settled) == (3, 7), "1 dispute + 2 reports; its own report once"
    assert (m.worst_month.disputes, m.worst_month.settled) == (1, 7), "Stripe's activity: the dispute alone"
