"""The DuckDB store: schema by migrations, upserts by (id, scope), raw JSON kept, one writer."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from core.store import MIGRATIONS, PLATFORM, TABLES, DatabaseLockedError, Store


def charge(cid: str, **fields: object) -> dict[str, object]:
    return {"id": cid, "object": "charge", "created": 1_700_000_000, "amount": 1234, "currency": "usd",
            "status": "succeeded", "outcome": {"risk_level": "elevated"}, **fields}


def test_migrations_apply_once_and_tables_match_specs(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Store(db):
        pass
    with Store(db) as store:
        versions = store.cursor().execute("SELECT version FROM schema_migrations").fetchall()
        assert versions == [(v,) for v, _ in MIGRATIONS]
        for name, spec in TABLES.items():
            columns = [r[0] for r in store.cursor().execute(f"DESCRIBE {name}").fetchall()]
            assert columns == spec.column_names


def test_upsert_is_by_id_and_scope_and_platform_account_is_null(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        with store.transaction() as conn:
            store.upsert(conn, "charges", PLATFORM, [charge("ch_1")])
            store.upsert(conn, "charges", "acct_1", [charge("ch_1", amount=5)])
        with store.transaction() as conn:
            store.upsert(conn, "charges", PLATFORM, [charge("ch_1", amount=99, status="failed"), charge("ch_2")])
        rows = store.cursor().execute(
            "SELECT id, account, scope, amount, status, outcome_risk_level FROM charges ORDER BY id, scope"
        ).fetchall()
        assert rows == [("ch_1", None, "", 99, "failed", "elevated"), ("ch_1", "acct_1", "acct_1", 5, "succeeded",
                                                                        "elevated"),
                        ("ch_2", None, "", 1234, "succeeded", "elevated")]
        platform = store.cursor().execute("SELECT count(*) FROM charges WHERE account IS NULL").fetchone()
        assert platform == (2,)


def test_unknown_fields_stay_in_raw_and_refs_may_be_expanded(tmp_path: Path) -> None:
    obj = charge("ch_x", brand_new_field={"nested": [1, 2]}, balance_transaction={"id": "txn_1", "object": "x"},
                 source_transfer="tr_9")
    with Store(tmp_path / "s.duckdb") as store:
        with store.transaction() as conn:
            store.upsert(conn, "charges", "acct_2", [obj])
        raw, txn, tr, created = store.cursor().execute(
            "SELECT raw, balance_transaction_id, source_transfer_id, created FROM charges").fetchone()
        assert json.loads(raw)["brand_new_field"] == {"nested": [1, 2]}
        assert (txn, tr) == ("txn_1", "tr_9")
        assert created == datetime(2023, 11, 14, 22, 13, 20)  # 1_700_000_000 in UTC


def test_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        with pytest.raises(RuntimeError), store.transaction() as conn:
            store.upsert(conn, "charges", PLATFORM, [charge("ch_1")])
            store.save_unit(conn, {"unit_id": "u", "kind": "backfill", "scope": "", "resource": "charges"})
            raise RuntimeError("crash between rows and cursor")
        assert store.cursor().execute("SELECT count(*) FROM charges").fetchone() == (0,)
        assert store.units() == []


def test_second_process_gets_a_clear_locked_message(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    code = ("import sys\nfrom core.store import Store, DatabaseLockedError\n"
            f"try:\n    Store({str(db)!r})\nexcept DatabaseLockedError as e:\n    print(e); sys.exit(3)\n")
    with Store(db):
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 3
    assert "locked by another Connect Ops process" in result.stdout
    assert DatabaseLockedError.__mro__[1].__name__ == "StoreError"


def test_bulk_upsert_speed(tmp_path: Path) -> None:
    """Bulk upserts stay fast: 2000 rows well under 2 s even on a slow CI machine (about 0.2 s here)."""
    import time

    objs = [charge(f"ch_{i}", metadata={"k": "v" * 50}, description="x" * 200) for i in range(2000)]
    with Store(tmp_path / "s.duckdb") as store:
        started = time.perf_counter()
        with store.transaction() as conn:
            store.upsert(conn, "charges", PLATFORM, objs)
        elapsed = time.perf_counter() - started
        assert store.cursor().execute("SELECT count(*) FROM charges").fetchone() == (2000,)
    assert elapsed < 2.0, f"{elapsed:.2f}s for 2000 rows"
