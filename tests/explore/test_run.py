"""Running queries on a locked-down store (core/explore/run.py, Store.lock_down): read-only, no files, no
network, bounded in time and rows, and every run audited."""
from __future__ import annotations

import json
import threading
import time

import duckdb
import pytest

from core.auth import Actor, PermissionDenied, Role
from core.explore.guard import QueryRefused
from core.explore.run import AUDIT_ACTION, Limits, QueryFailed, QueryTimedOut, execute, explorer_database, run
from core.mirror.store import Store

ANALYST = Actor(email="analyst@corp.example", role=Role.RISK)
SLOW = "SELECT count(*) FROM range(100000000) a, range(100000000) b WHERE a.range + b.range = -1"


def raw_error(store: Store, sql: str) -> duckdb.Error:
    """What DuckDB itself says when the guard is bypassed (a cursor of the locked store, no check)."""
    with pytest.raises(duckdb.Error) as caught:
        store.cursor().execute(sql).fetchall()
    return caught.value


def audit_rows(store: Store, since_id: int = 0) -> list[dict]:
    cur = store.cursor()
    rows = cur.execute("SELECT id, actor_email, actor_role, action, target_id, params, result, error FROM audit_log "
                       "WHERE id > ? AND action = ? ORDER BY id", [since_id, AUDIT_ACTION]).fetchall()
    names = ["id", "actor_email", "actor_role", "action", "target_id", "params", "result", "error"]
    return [{**dict(zip(names, r)), "params": json.loads(r[5])} for r in rows]


def copy_of(store: Store):
    """The explorer's database for this store: the copy of its queryable tables the worker opens."""
    return explorer_database(store.cursor(), store.path)


def last_audit_id(store: Store) -> int:
    return store.cursor().execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchall()[0][0]


# --------------------------------------------------------------------------- no files, no network, no settings


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM glob('/etc/*')",
])
def test_files_cannot_be_read_even_past_the_guard(locked_store: Store, sql: str) -> None:
    with pytest.raises(QueryRefused):
        execute(copy_of(locked_store), sql)
    error = raw_error(locked_store, sql)
    assert isinstance(error, (duckdb.PermissionException, duckdb.CatalogException)), error
    assert "disabled" in str(error) or "does not exist" in str(error)


def test_read_csv_of_etc_passwd_is_a_permission_error(locked_store: Store) -> None:
    error = raw_error(locked_store, "SELECT * FROM read_csv('/etc/passwd')")
    assert isinstance(error, duckdb.PermissionException), error
    assert "file system operations are disabled" in str(error)


def test_no_network_even_past_the_guard(locked_store: Store) -> None:
    sql = "SELECT * FROM read_parquet('http://127.0.0.1:9/x.parquet')"
    with pytest.raises(QueryRefused):
        execute(copy_of(locked_store), sql)
    assert isinstance(raw_error(locked_store, sql), (duckdb.PermissionException, duckdb.InvalidInputException))


@pytest.mark.parametrize("sql, refusal", [
    ("INSTALL httpfs", duckdb.PermissionException),
    ("LOAD httpfs", duckdb.PermissionException),
    ("ATTACH '/tmp/connect-ops-explore-attach.duckdb' AS other", duckdb.PermissionException),
    ("COPY charges TO '/tmp/connect-ops-explore-copy.csv'", duckdb.PermissionException),
    ("COPY (SELECT * FROM audit_log) TO '/tmp/connect-ops-explore-copy.csv'", duckdb.PermissionException),
    ("SET enable_external_access = true", duckdb.InvalidInputException),
    ("SET lock_configuration = false", duckdb.InvalidInputException),
    ("SET memory_limit = '1GB'", duckdb.InvalidInputException),
    ("SET python_enable_replacements = true", duckdb.InvalidInputException),
    ("PRAGMA threads = 1", duckdb.InvalidInputException),
    ("RESET enable_external_access", duckdb.InvalidInputException),
])
def test_install_load_attach_copy_set_fail_on_the_locked_store(locked_store: Store, sql: str, refusal: type) -> None:
    with pytest.raises(QueryRefused):  # the guard's message first
        execute(copy_of(locked_store), sql)
    assert isinstance(raw_error(locked_store, sql), (refusal, duckdb.PermissionException, duckdb.InvalidInputException))
    settings = dict(locked_store.cursor().execute(
        "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', 'lock_configuration')"
    ).fetchall())
    assert settings == {"enable_external_access": "false", "lock_configuration": "true"}


def test_python_objects_are_not_scanned_by_name(locked_store: Store) -> None:
    import pandas as pd

    secret_frame = pd.DataFrame({"password": ["hunter2"]})  # noqa: F841 - a replacement scan would find it
    with pytest.raises(QueryRefused):
        execute(copy_of(locked_store), "SELECT * FROM secret_frame")
    assert isinstance(raw_error(locked_store, "SELECT * FROM secret_frame"), duckdb.CatalogException)


def test_the_store_itself_still_works_when_locked(locked_store: Store) -> None:
    cur = locked_store.cursor()
    assert cur.execute("SELECT count(*) FROM charges WHERE raw ->> '$.object' = 'charge'").fetchall()[0][0] > 0
    assert cur.execute("SELECT json_extract_string(raw, '$.id') = id FROM charges LIMIT 1").fetchall() == [(True,)]
    with locked_store.transaction() as conn:
        conn.execute("INSERT INTO account_notes (account_id, created_at, author_email, body) "
                     "VALUES ('acct_lock_test', now(), 'test@corp.example', 'still writable')")
        conn.execute("DELETE FROM account_notes WHERE account_id = 'acct_lock_test'")


# --------------------------------------------------------------------------- read-only


def test_a_select_cannot_write_even_through_a_function(locked_store: Store) -> None:
    before = locked_store.cursor().execute("SELECT count(*) FROM audit_log").fetchall()
    with pytest.raises(QueryRefused, match="sequences"):
        execute(copy_of(locked_store), "SELECT nextval('audit_log_id') FROM range(3)")
    assert locked_store.cursor().execute("SELECT count(*) FROM audit_log").fetchall() == before


def test_results_and_their_types(locked_store: Store) -> None:
    result = execute(copy_of(locked_store), "SELECT currency, sum(amount) AS total, count(*) AS n, "
                                            "max(created) AS newest FROM charges GROUP BY 1 ORDER BY 1")
    assert result.rows == len(result.frame) > 1 and not result.truncated
    assert result.columns == ["currency", "total", "n", "newest"]
    assert str(result.frame["total"].dtype) == "int64", "sums of minor units stay integers"
    assert result.seconds < 10 and result.tables == ("charges",)
    assert result.csv().splitlines()[0] == "currency,total,n,newest"
    assert result.records()[0]["currency"] == result.frame["currency"][0]
    assert f"{result.rows} rows in" in result.summary


# --------------------------------------------------------------------------- bounded


def test_the_time_limit_interrupts_the_query(locked_store: Store) -> None:
    started = time.monotonic()
    with pytest.raises(QueryTimedOut) as caught:
        execute(copy_of(locked_store), SLOW, Limits(seconds=0.5))
    assert str(caught.value).startswith("stopped after 0.5 s")
    assert time.monotonic() - started < 10
    assert execute(copy_of(locked_store), "SELECT 1 AS ok").rows == 1, "the store works on after an interrupt"


def test_the_time_limit_leaves_the_writer_alone(locked_store: Store) -> None:
    """A query being interrupted on its own cursor does not touch the sync's or an action's writes."""
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(20):
                with locked_store.transaction() as conn:
                    conn.execute("SELECT count(*) FROM sync_runs").fetchall()
                time.sleep(0.02)
        except BaseException as exc:  # pragma: no cover - the assertion below shows it
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    with pytest.raises(QueryTimedOut):
        execute(copy_of(locked_store), SLOW, Limits(seconds=0.3))
    writer.join()
    assert not errors


def test_rows_shown_and_rows_downloaded_are_capped(locked_store: Store) -> None:
    limits = Limits(shown_rows=10, download_rows=250)
    result = execute(copy_of(locked_store), "SELECT * FROM range(100000) ORDER BY 1", limits)
    assert result.truncated and result.rows == 250 and len(result.shown) == 10
    assert len(result.csv().splitlines()) == 251
    assert "250+ rows" in result.summary and "the table shows the first 10" in result.summary
    exact = execute(copy_of(locked_store), "SELECT * FROM range(250)", limits)
    assert not exact.truncated and exact.rows == 250


def test_the_download_is_capped_in_bytes_too(locked_store: Store) -> None:
    limits = Limits(download_rows=100_000, download_bytes=200_000)
    result = execute(copy_of(locked_store), "SELECT repeat('x', 1000) AS wide FROM range(50000)", limits)
    assert result.truncated and 0 < result.rows < 50_000


# --------------------------------------------------------------------------- audited


def test_every_run_is_audited_who_sql_rows_time(locked_store: Store) -> None:
    since = last_audit_id(locked_store)
    ok = run(locked_store, ANALYST, "SELECT id FROM connected_accounts LIMIT 7", source="my_source")
    with pytest.raises(QueryRefused):
        run(locked_store, ANALYST, "DELETE FROM charges")
    with pytest.raises(QueryFailed):
        run(locked_store, ANALYST, "SELECT no_such_column FROM charges")
    with pytest.raises(QueryTimedOut):
        run(locked_store, ANALYST, SLOW, limits=Limits(seconds=0.3))
    rows = audit_rows(locked_store, since)
    assert [r["result"] for r in rows] == ["succeeded", "denied", "failed", "failed"]
    assert all(r["actor_email"] == ANALYST.email and r["actor_role"] == "risk" for r in rows)
    assert rows[0]["params"]["sql"] == "SELECT id FROM connected_accounts LIMIT 7"
    assert rows[0]["params"]["rows"] == ok.rows == 7 and rows[0]["target_id"] == "my_source"
    assert rows[0]["params"]["seconds"] >= 0
    assert "DELETE statements are refused" in rows[1]["error"]
    assert "no_such_column" in rows[2]["error"]
    assert rows[3]["error"].startswith("stopped after 0.3 s")


def test_support_may_not_run_queries(locked_store: Store) -> None:
    since = last_audit_id(locked_store)
    with pytest.raises(PermissionDenied):
        run(locked_store, Actor(email="agent@support.example", role=Role.SUPPORT), "SELECT 1")
    rows = audit_rows(locked_store, since)
    assert [(r["actor_email"], r["result"]) for r in rows] == [("agent@support.example", "denied")]
