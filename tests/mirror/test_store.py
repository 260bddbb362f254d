"""The DuckDB store: schema by migrations, upserts by (id, scope), raw JSON kept, one writer."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from core.mirror.store import MIGRATIONS, PLATFORM, TABLES, DatabaseLockedError, Store


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


def test_resource_tables_have_no_art_index_and_upserts_still_replace_by_key(tmp_path: Path) -> None:
    """ART nodes a sync changes stay in memory until a checkpoint: resource tables carry none."""
    with Store(tmp_path / "s.duckdb") as store:
        indexes = store.cursor().execute(
            "SELECT count(*) FROM duckdb_indexes() WHERE table_name IN (SELECT unnest(?::VARCHAR[]))",
            [list(TABLES)]).fetchone()
        constraints = store.cursor().execute(
            "SELECT count(*) FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' "
            "AND table_name IN (SELECT unnest(?::VARCHAR[]))", [list(TABLES)]).fetchone()
        assert indexes == (0,) and constraints == (0,)
        with store.transaction() as c:
            store.upsert(c, "charges", "acct_1", [charge("ch_1"), charge("ch_2")])
            store.upsert(c, "charges", "acct_1", [charge("ch_1", amount=7)])
        with store.transaction() as c:
            store.upsert_json(c, "charges", [("acct_1", json.dumps(charge("ch_2", amount=8)), False)])
        rows = store.cursor().execute("SELECT id, amount FROM charges ORDER BY id").fetchall()
        assert rows == [("ch_1", 7), ("ch_2", 8)]


def test_migration_5_carries_rows_over(tmp_path: Path) -> None:
    import duckdb

    db = tmp_path / "v4.duckdb"
    conn = duckdb.connect(str(db))
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)")
    for version, sql in MIGRATIONS:
        if version < 5:
            conn.execute(sql)
            conn.execute("INSERT INTO schema_migrations VALUES (?, now())", [version])
    conn.execute("INSERT INTO charges (id, scope, created, raw, synced_at) VALUES "
                 "('ch_old', '', now(), '{}', now())")
    conn.close()
    with Store(db) as store:
        assert store.cursor().execute("SELECT id, scope FROM charges").fetchall() == [("ch_old", "")]


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
    code = ("import sys\nfrom core.mirror.store import Store, DatabaseLockedError\n"
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


# --------------------------------------------------------------------------- SQL column extraction

_FIXTURES: dict[str, list[dict[str, object]]] = {
    "connected_accounts": [
        {"id": "acct_1", "object": "account", "created": 1_690_000_000, "type": "custom", "country": "FR",
         "email": "zoë.o'brien@example.com", "business_profile": {"name": ""}, "company": {"name": "Café Ltd"},
         "charges_enabled": True, "payouts_enabled": False, "details_submitted": True,
         "requirements": {"disabled_reason": None, "past_due": ["external_account"], "currently_due": [],
                          "current_deadline": 1_700_000_123},
         "settings": {"payouts": {"schedule": {"interval": "daily", "delay_days": 7}}}, "unknown": {"x": [1]}},
        {"id": "acct_2", "object": "account", "created": 1_690_000_001, "business_profile": None,
         "requirements": None, "settings": {}},
    ],
    "charges": [
        charge("ch_1", customer={"id": "cus_1", "object": "customer"}, application_fee="fee_1",
               transfer_data={"destination": {"id": "acct_1"}}, payment_method_details={"card": {"brand": "visa"}},
               outcome={"risk_level": "normal", "risk_score": 12, "type": "authorized"}, paid=True,
               description="Ünïcode \"quoted\" \\ back"),
        charge("ch_2", amount=None, outcome=None, transfer_data=None, balance_transaction={"id": "txn_9"}),
        charge("py_3", source_transfer="tr_1", amount=9_007_199_254_740_993),
    ],
    "transfers": [{"id": "tr_1", "object": "transfer", "created": 1_700_000_000, "amount": 10, "reversed": False,
                   "destination": "acct_1", "destination_payment": {"id": "py_3"}, "source_transaction": None}],
    "payouts": [{"id": "po_1", "object": "payout", "created": 1_700_000_000, "amount": 5, "arrival_date": 1_700_086_400,
                 "automatic": True, "failure_balance_transaction": {"id": "txn_f"}, "destination": "ba_1"}],
    "application_fees": [{"id": "fee_1", "object": "application_fee", "created": 1_700_000_000, "amount": 3,
                          "account": {"id": "acct_1"}, "charge": "ch_1", "originating_transaction": None}],
    "refunds": [{"id": "re_1", "object": "refund", "created": 1_700_000_000, "amount": 2, "charge": {"id": "ch_1"},
                 "reason": None, "status": "succeeded"}],
    "disputes": [{"id": "dp_1", "object": "dispute", "created": 1_700_000_000, "amount": 2, "charge": "ch_1",
                  "is_charge_refundable": False, "evidence_details": {"due_by": 1_701_000_000}},
                 {"id": "dp_2", "object": "dispute", "created": 1_700_000_000, "evidence_details": None}],
    "early_fraud_warnings": [{"id": "issfr_1", "object": "radar.early_fraud_warning", "created": 1_700_000_000,
                              "actionable": True, "charge": {"id": "ch_1"}, "fraud_type": "made_with_stolen_card",
                              "payment_intent": None},
                             {"id": "issfr_2", "object": "radar.early_fraud_warning", "created": 1_700_000_000,
                              "actionable": False, "charge": "ch_2", "fraud_type": "misc"}],
    "balance_transactions": [
        {"id": "txn_1", "object": "balance_transaction", "created": 1_700_000_000, "amount": -5, "fee": 0,
         "net": -5, "exchange_rate": 1, "available_on": 1_700_100_000, "status": "pending", "source": "ch_1"},
        {"id": "txn_2", "object": "balance_transaction", "created": 1_700_000_000, "exchange_rate": 1.0842,
         "source": {"id": "re_1", "object": "refund"}, "description": None},
    ],
    "events": [{"id": "evt_1", "object": "event", "created": 1_700_000_000, "type": "charge.succeeded",
                "api_version": "2024-06-20", "data": {"object": {"id": "ch_1", "object": "charge"}},
                "request": {"id": "req_1", "idempotency_key": None}},
               {"id": "evt_2", "object": "event", "created": 1_700_000_000, "type": "payout.paid",
                "data": {"object": {"id": "po_1", "object": "payout"}}, "request": None}],
}


@pytest.mark.parametrize("table", sorted(TABLES))
def test_sql_extraction_equals_python_extractors(tmp_path: Path, table: str) -> None:
    """upsert_json (columns computed by DuckDB from JSON text) writes what upsert (Python extractors) writes."""
    objects = _FIXTURES[table]
    with Store(tmp_path / "s.duckdb") as store:
        with store.transaction() as conn:
            store.upsert(conn, table, "acct_9", objects)
        select = f"SELECT * EXCLUDE (synced_at, raw), raw FROM {table} ORDER BY id, scope"
        python = store.cursor().execute(select).fetchall()
        with store.transaction() as conn:
            conn.execute(f"DELETE FROM {table}")
            stale = [{**objects[0], "created": 1}]  # an older copy, superseded within the same statement
            items = [("acct_9", json.dumps(stale[0]), False),
                     ("acct_9", json.dumps({"object": "list", "data": objects, "has_more": False}), True)]
            assert store.upsert_json(conn, table, items) == len(objects)
        sql = store.cursor().execute(select).fetchall()
    assert [row[:-1] for row in sql] == [row[:-1] for row in python]
    assert [json.loads(row[-1]) for row in sql] == [json.loads(row[-1]) for row in python]


def test_duplicate_keys_are_found_and_repaired_keeping_the_newest(tmp_path: Path) -> None:
    """The safety net under append-only first listings: one row per (id, scope) after a repair."""
    with Store(tmp_path / "s.duckdb") as store:
        with store.transaction() as conn:
            store.upsert(conn, "charges", "acct_1", [charge("ch_1", amount=100), charge("ch_2")])
            page = json.dumps({"object": "list", "data": [charge("ch_1", amount=999)], "has_more": False})
            store.upsert_json(conn, "charges", [("acct_1", page, True)], append=True)  # a page listed twice
            store.upsert(conn, "charges", PLATFORM, [charge("ch_1", amount=5)])  # same id, other scope: not a dup
        assert store.duplicate_keys() == {"charges": 1}
        assert store.repair_duplicates() == {"charges": 1}
        assert store.duplicate_keys() == {}
        rows = store.cursor().execute("SELECT scope, id, amount FROM charges ORDER BY scope, id").fetchall()
        assert rows == [("", "ch_1", 5), ("acct_1", "ch_1", 999), ("acct_1", "ch_2", 1234)]
