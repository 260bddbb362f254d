"""The sync against a real emulator process over HTTP: the store must equal the source, table by table.

Equality is checked on ids, scope and every typed column, computed from the emulator's dump of every
object in every scope with the same column definitions the store uses, plus a few columns checked
independently of those definitions (so a wrong extractor cannot hide behind itself).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from core.emulator.launcher import EmulatorProcess, start_emulator
from core.mirror.schema import TABLES, to_timestamp
from core.mirror.store import Store
from core.stripe_api import StripeApi
from core.mirror.sync import sync

ROOT = Path(__file__).resolve().parents[2]
DUMP_RESOURCE = {"connected_accounts": "accounts"}
SMALL = ("--scale", "small", "--seed", "1")


# --------------------------------------------------------------------------- helpers (shared)


def control(emu: EmulatorProcess, method: str, path: str, **data: Any) -> Any:
    """Emulator-only control endpoints (not Stripe API): plain HTTP with the same bearer key."""
    response = httpx.request(method, emu.base_url + path, headers={"Authorization": f"Bearer {emu.api_key}"},
                             data=data or None, params=None, timeout=60)
    response.raise_for_status()
    return response.json()


def dump(emu: EmulatorProcess, table: str) -> list[dict[str, Any]]:
    resource = DUMP_RESOURCE.get(table, table)
    response = httpx.get(emu.base_url + "/_emulator/dump", params={"resource": resource},
                         headers={"Authorization": f"Bearer {emu.api_key}"}, timeout=120)
    response.raise_for_status()
    return response.json()["data"]


def expected_rows(emu: EmulatorProcess, table: str) -> dict[tuple[str, str], tuple[Any, ...]]:
    spec = TABLES[table]
    rows = {}
    for item in dump(emu, table):
        obj, scope = item["object"], item["account"] or ""
        rows[(obj["id"], scope)] = (to_timestamp(obj.get("created")), *(c.get(obj) for c in spec.columns))
    return rows


def stored_rows(store: Store, table: str) -> dict[tuple[str, str], tuple[Any, ...]]:
    spec = TABLES[table]
    cols = ", ".join(["created", *(c.name for c in spec.columns)])
    result = store.cursor().execute(f"SELECT id, scope, account, {cols} FROM {table}").fetchall()
    rows: dict[tuple[str, str], tuple[Any, ...]] = {}
    for row in result:
        assert row[2] == (row[1] or None), f"{table} {row[0]}: account/scope disagree"
        rows[(row[0], row[1])] = tuple(row[3:])
    return rows


def assert_store_equals_source(store: Store, emu: EmulatorProcess, since: float | None = None,
                               frozen: frozenset[str] = frozenset()) -> None:
    """Every table equals the emulator: same (id, scope) set, same typed columns, no duplicates.

    A balance transaction's status flips from pending to available with time and no event; one whose
    `available_on` passed after `since` (the start of the last sync) may legitimately still be pending.
    `frozen` accounts left the platform: the mirror keeps them as they were, so they are not compared.
    """
    problems: list[str] = []
    for table in TABLES:
        want, have = expected_rows(emu, table), stored_rows(store, table)
        if frozen:
            want, have = ({k: v for k, v in rows.items() if k[1] not in frozen and k[0] not in frozen}
                          for rows in (want, have))
        count = store.cursor().execute(f"SELECT count(*), count(DISTINCT (id, scope)) FROM {table}").fetchone()
        assert count is not None and count[0] == count[1], f"{table}: duplicate rows"
        missing, extra = want.keys() - have.keys(), have.keys() - want.keys()
        if missing or extra:
            problems.append(f"{table}: {len(missing)} missing e.g. {sorted(missing)[:3]}, "
                            f"{len(extra)} extra e.g. {sorted(extra)[:3]}")
        names = ["created", *(c.name for c in TABLES[table].columns)]
        for key in sorted(want.keys() & have.keys()):
            diffs = [(n, w, h) for n, w, h in zip(names, want[key], have[key]) if w != h]
            if table == "balance_transactions" and since is not None:
                diffs = [d for d in diffs if not _just_became_available(d, want[key], names, since)]
            if diffs:
                problems.append(f"{table} {key}: {diffs}")
    assert not problems, f"{len(problems)} differences:\n" + "\n".join(problems[:20])


def _just_became_available(diff: tuple[str, Any, Any], want: tuple[Any, ...], names: list[str],
                           since: float) -> bool:
    available_on = want[names.index("available_on")]
    lower = datetime.fromtimestamp(since - 2, UTC).replace(tzinfo=None)
    return diff[0] == "status" and diff[2] == "pending" and available_on is not None and available_on >= lower


def api_for(emu: EmulatorProcess, rps: float = 100.0) -> StripeApi:
    return StripeApi(emu.api_key, emu.base_url, max_rps=rps, max_rps_per_endpoint=25)


def sdk(emu: EmulatorProcess) -> stripe.StripeClient:
    return stripe.StripeClient(emu.api_key, base_addresses={"api": emu.base_url}, max_network_retries=2)


def cli_env(emu: EmulatorProcess, db: Path, rps: float = 100.0) -> dict[str, str]:
    return {**os.environ, "STRIPE_API_KEY": emu.api_key, "STRIPE_API_BASE": emu.base_url,
            "CONNECT_OPS_DB": str(db), "CONNECT_OPS_MAX_RPS": str(rps), "PYTHONUNBUFFERED": "1"}


def run_cli(env: dict[str, str], *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "core.sync", "--quiet", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def mutate_everything(emu: EmulatorProcess) -> None:
    """Refunds, disputes, payout failures, requirement changes, new charges: control endpoints + SDK."""
    client = sdk(emu)
    assert control(emu, "POST", "/_emulator/mutate", fraction="0.01", seed="7")["changed"] > 0
    accounts = [a["object"] for a in dump(emu, "connected_accounts")]
    custom = next(a for a in accounts if a["type"] in ("custom", "express") and a["charges_enabled"])
    standard = next((a for a in accounts if a["type"] == "standard" and a["charges_enabled"]), None)
    destination = client.v1.charges.create({"amount": 4200, "currency": "usd", "source": "tok_visa",
                                            "transfer_data": {"destination": custom["id"]},
                                            "application_fee_amount": 420})
    client.v1.refunds.create({"charge": destination.id, "amount": 1000, "reverse_transfer": True,
                              "refund_application_fee": True})
    if standard is not None:
        direct = client.v1.charges.create({"amount": 3100, "currency": standard["default_currency"],
                                           "source": "tok_visa", "application_fee_amount": 100},
                                          {"stripe_account": standard["id"]})
        control(emu, "POST", "/_emulator/disputes", charge=direct.id, account=standard["id"])
    control(emu, "POST", f"/_emulator/accounts/{custom['id']}/requirements", **{"past_due[0]": "external_account"})
    payouts = [p for p in dump(emu, "payouts") if p["account"] and p["object"]["status"] in ("paid", "in_transit")]
    control(emu, "POST", f"/_emulator/payouts/{payouts[0]['object']['id']}/fail")
    other = next(a for a in accounts if a["type"] != "standard" and a["id"] != custom["id"])
    client.v1.accounts.update(other["id"], {"email": "changed@example.com"})


# --------------------------------------------------------------------------- tests


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "connect_ops.duckdb"


@pytest.fixture
def fresh() -> Any:
    with start_emulator(*SMALL) as emu:
        yield emu


def test_full_then_incremental_sync_equals_source(fresh: EmulatorProcess, db: Path) -> None:
    with Store(db) as store:
        started = time.time()
        result = sync(store, api_for(fresh))
        assert result.mode == "full"
        assert_store_equals_source(store, fresh, since=started)
        _spot_check(store, fresh)

        mutate_everything(fresh)
        started = time.time()
        again = sync(store, api_for(fresh))
        assert again.mode == "incremental"
        assert again.requests < result.requests * 0.3  # ~20% at small scale: one events list per account
        assert_store_equals_source(store, fresh, since=started)
        runs = store.runs()
        assert [r["status"] for r in runs] == ["succeeded", "succeeded"]
        assert runs[0]["objects"] > 0 and runs[0]["requests"] == result.requests


def _spot_check(store: Store, emu: EmulatorProcess) -> None:
    """A few columns read straight from the dump, not through the store's column definitions."""
    charges = {(c["object"]["id"]): c for c in dump(emu, "charges")}
    cur = store.cursor()
    for cid, amount, currency, created, account, risk, source_transfer in cur.execute(
            "SELECT id, amount, currency, epoch(created)::BIGINT, account, outcome_risk_level, source_transfer_id "
            "FROM charges USING SAMPLE 200 ROWS").fetchall():
        src = charges[cid]
        assert (amount, currency, created, account) == (
            src["object"]["amount"], src["object"]["currency"], src["object"]["created"], src["account"])
        assert risk == (src["object"].get("outcome") or {}).get("risk_level")
        assert source_transfer == src["object"].get("source_transfer")
    platform = cur.execute("SELECT count(*) FROM charges WHERE account IS NULL").fetchone()
    assert platform is not None and platform[0] == sum(1 for c in charges.values() if c["account"] is None)
    py = cur.execute("SELECT count(*) FROM charges WHERE id LIKE 'py_%' AND account IS NOT NULL").fetchone()
    assert py is not None and py[0] > 0


def test_cli_sync_prints_progress_and_summary(emulator: EmulatorProcess, db: Path) -> None:
    result = run_cli(cli_env(emulator, db))
    assert result.returncode == 0, result.stderr
    assert "full sync done" in result.stdout and "charges" in result.stdout
    again = run_cli(cli_env(emulator, db))
    assert again.returncode == 0, again.stderr
    assert "incremental sync done" in again.stdout


def test_cli_bad_key_is_one_clear_line(emulator: EmulatorProcess, db: Path) -> None:
    env = {**cli_env(emulator, db), "STRIPE_API_KEY": "sk_test_wrongwrongwrong"}
    result = run_cli(env, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "API key" in result.stderr


def test_cli_unreachable_api_is_one_clear_line(db: Path) -> None:
    env = {**os.environ, "STRIPE_API_KEY": "sk_test_unreachable123", "STRIPE_API_BASE": "http://127.0.0.1:9",
           "CONNECT_OPS_DB": str(db)}
    result = run_cli(env, timeout=60)
    assert result.returncode == 1
    assert "cannot reach the Stripe API" in result.stderr and result.stderr.strip().count("\n") == 0


def test_cli_locked_database_is_one_clear_line(emulator: EmulatorProcess, db: Path) -> None:
    with Store(db):  # this process holds DuckDB's write lock
        result = run_cli(cli_env(emulator, db), timeout=60)
    assert result.returncode == 1
    assert "locked by another Connect Ops process" in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_readers_use_cursors_while_sync_writes(emulator: EmulatorProcess, db: Path) -> None:
    import threading

    with Store(db) as store:
        errors: list[BaseException] = []
        stop = threading.Event()

        def read() -> None:
            while not stop.is_set():
                try:
                    store.cursor().execute("SELECT count(*) FROM charges").fetchone()
                except BaseException as exc:  # noqa: BLE001
                    errors.append(exc)

        reader = threading.Thread(target=read)
        reader.start()
        try:
            sync(store, api_for(emulator))
        finally:
            stop.set()
            reader.join()
        assert not errors


def test_stale_event_cursor_triggers_backfill_of_that_scope(emulator: EmulatorProcess, db: Path) -> None:
    with Store(db) as store:
        sync(store, api_for(emulator))
        with store.transaction() as conn:
            conn.execute("UPDATE sync_state SET cursor_created = ? WHERE unit_id = 'events:platform'",
                         [int(time.time()) - 31 * 86400])
        result = sync(store, api_for(emulator))
        assert any("platform: backfilling again" in line for line in result.log)
        assert any("platform: backfilling again" in (r["log"] or "") for r in store.runs())
        assert_store_equals_source(store, emulator, since=time.time() - 120)
