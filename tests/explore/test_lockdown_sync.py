"""A locked-down store (the app's) still syncs: full and incremental, against the emulator over HTTP, with a
memory limit small enough that DuckDB spills to its temp directory (set before locking, as it must be)."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from core.emulator.launcher import EmulatorProcess
from core.mirror.store import Store
from core.mirror.sync import sync
from tests.mirror.test_sync import api_for, assert_store_equals_source


def test_full_and_incremental_sync_on_a_locked_store_that_spills(emulator: EmulatorProcess, tmp_path: Path) -> None:
    path = tmp_path / "locked.duckdb"
    store = Store(path, memory_limit="128MB")  # what `connect-ops sync` runs with
    try:
        store.lock_down()
        with pytest.raises(duckdb.InvalidInputException):
            store.cursor().execute("SET memory_limit = '4GB'")
        full = sync(store, api_for(emulator, 400), full=True)
        assert full.objects > 10_000
        assert_store_equals_source(store, emulator)
        incremental = sync(store, api_for(emulator, 400))
        assert incremental.mode == "incremental"
        assert_store_equals_source(store, emulator)
        assert not store.duplicate_keys()
        # About 3M rows of sort state (well over 128 MB): only possible by spilling to <db>.tmp, which
        # external access off still allows (DuckDB's own temp files are not "external").
        cur = store.cursor()
        charges = cur.execute("SELECT count(*) FROM charges").fetchall()[0][0]
        rows = cur.execute("SELECT count(*) FROM (SELECT id || '-' || range AS k FROM charges, range(400) "
                           "ORDER BY md5(k))").fetchall()
        assert rows[0][0] == 400 * charges > 3_000_000
        spill = Path(str(path) + ".tmp")
        assert spill.is_dir(), "DuckDB spilled to its temp directory beside the file"
        settings = dict(cur.execute("SELECT name, value FROM duckdb_settings() WHERE name IN "
                                    "('enable_external_access', 'lock_configuration')").fetchall())
        assert settings == {"enable_external_access": "false", "lock_configuration": "true"}
    finally:
        store.close()
