"""What leaves Stripe: an account that disconnects from the platform, and objects Stripe deletes."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from core.emulator.launcher import EmulatorProcess, start_emulator
from core.mirror.store import Store
from core.mirror.sync import sync
from core.support import merchant
from tests.mirror.test_sync import SMALL, api_for, assert_store_equals_source, control, dump, sdk


@pytest.fixture
def emu() -> EmulatorProcess:
    with start_emulator(*SMALL) as process:
        yield process


def _active_standard_account(emu: EmulatorProcess) -> str:
    charged = {c["account"] for c in dump(emu, "charges") if c["account"]}
    return next(a["object"]["id"] for a in dump(emu, "connected_accounts")
                if a["object"]["type"] == "standard" and a["object"]["id"] in charged)


def _disconnections(store: Store) -> dict[str, str]:
    return dict(store.cursor().execute("SELECT account_id, how FROM account_disconnections").fetchall())


def test_a_deauthorized_account_is_marked_kept_and_no_longer_polled(emu: EmulatorProcess, tmp_path: Path) -> None:
    with Store(tmp_path / "m.duckdb") as store:
        sync(store, api_for(emu))
        gone = _active_standard_account(emu)
        charges_before = store.cursor().execute("SELECT count(*) FROM charges WHERE account = ?", [gone]).fetchone()
        control(emu, "POST", f"/_emulator/accounts/{gone}/deauthorize")
        control(emu, "POST", "/_emulator/mutate", fraction="0.01", seed="3")  # life goes on elsewhere

        result = sync(store, api_for(emu))  # before: 403 on the account's events failed the whole run

        how = _disconnections(store)
        assert how.get(gone, "").startswith("evt_"), how  # learnt from the platform's own event
        assert any(f"{gone}: disconnected from the platform" in line for line in result.log), result.log
        assert store.cursor().execute("SELECT count(*) FROM sync_state WHERE scope = ?", [gone]).fetchone() == (0,)
        after = store.cursor().execute("SELECT count(*) FROM charges WHERE account = ?", [gone]).fetchone()
        assert after == charges_before  # its history stays for finance and tax
        assert_store_equals_source(store, emu, since=time.time() - 60, frozen=frozenset({gone}))
        shown = merchant.profile(store.cursor(), gone)  # what its merchant page says
        assert shown is not None and shown.disconnected_at is not None

        control(emu, "POST", "/_emulator/stats/reset")
        again = sync(store, api_for(emu))
        stats = control(emu, "GET", "/_emulator/stats")
        assert not any(gone in line for line in again.log), again.log
        assert gone not in stats["by_account"], "the disconnected account is still polled"
        assert len(stats["by_account"]) > 10  # the others are


def test_access_refused_without_the_event_marks_the_account_too(emu: EmulatorProcess, tmp_path: Path) -> None:
    """The event can be missed (older than the platform's cursor): a 403 on its scope says the same."""
    with Store(tmp_path / "m.duckdb") as store:
        sync(store, api_for(emu))
        gone = _active_standard_account(emu)
        control(emu, "POST", f"/_emulator/accounts/{gone}/deauthorize")
        with store.transaction() as conn:  # the platform's replay starts after the event
            conn.execute("UPDATE sync_state SET cursor_created = cursor_created + 3600 WHERE unit_id = 'events:platform'")
        result = sync(store, api_for(emu))
        assert _disconnections(store) == {gone: "access refused"}
        assert any(f"{gone}: the platform no longer has access" in line for line in result.log)
        assert [r["status"] for r in store.runs()][-1] == "succeeded"


def test_an_external_account_deleted_in_stripe_leaves_the_mirror(emu: EmulatorProcess, tmp_path: Path) -> None:
    """Stripe announces a removed bank account with `account.external_account.deleted` only."""
    with Store(tmp_path / "m.duckdb") as store:
        sync(store, api_for(emu))
        account = next(a["object"]["id"] for a in dump(emu, "connected_accounts") if a["object"]["type"] == "custom")
        added = control(emu, "POST", f"/_emulator/accounts/{account}/external_accounts", last4="9876")
        sync(store, api_for(emu))
        assert added["id"] in _bank_ids(store, account)

        deleted = sdk(emu).v1.accounts.external_accounts.delete(account, added["id"])
        assert deleted.deleted
        sync(store, api_for(emu))
        assert added["id"] not in _bank_ids(store, account)
        assert _bank_ids(store, account)  # the first bank account is still there


def _bank_ids(store: Store, account: str) -> list[str]:
    row = store.cursor().execute("SELECT raw FROM connected_accounts WHERE id = ?", [account]).fetchone()
    assert row is not None
    return [b["id"] for b in json.loads(row[0])["external_accounts"]["data"]]
