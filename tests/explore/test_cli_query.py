"""`connect-ops query`: the explorer's guard and limits on the command line, on a mirror opened read-only."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.mirror.store import Store
from tests.explore.conftest import copy_mirror

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".venv" / "bin" / "connect-ops"


@pytest.fixture(scope="module")
def mirror(synced_store: Store, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_mirror(synced_store, tmp_path_factory.mktemp("cli_query") / "mirror.duckdb")


def connect_ops(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-c",
                                                     "import sys; from core.cli import main; sys.exit(main())"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "CONNECT_OPS_"))}
    env.update(CONNECT_OPS_DB=str(db), STRIPE_API_KEY="sk_test_cli_query_1")
    return subprocess.run([*command, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)


def test_csv_and_json(mirror: Path, synced_store: Store) -> None:
    sql = "SELECT country, count(*) AS accounts FROM connected_accounts GROUP BY 1 ORDER BY 1"
    expected = synced_store.cursor().execute(sql).fetchall()
    done = connect_ops(mirror, "query", sql)
    assert done.returncode == 0, done.stderr
    assert [(r["country"], int(r["accounts"])) for r in csv.DictReader(io.StringIO(done.stdout))] == expected
    assert f"{len(expected)} rows in" in done.stderr
    done = connect_ops(mirror, "query", sql, "--format", "json")
    assert done.returncode == 0, done.stderr
    assert [(r["country"], r["accounts"]) for r in json.loads(done.stdout)] == expected


def test_a_starter_by_key(mirror: Path) -> None:
    listed = connect_ops(mirror, "query", "--list-starters")
    assert listed.returncode == 0 and "disputes_by_card_country" in listed.stdout
    done = connect_ops(mirror, "query", "--starter", "disputes_by_card_country", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["disputes"] > 0


@pytest.mark.parametrize("sql, words", [
    ("DELETE FROM charges", "DELETE statements are refused"),
    ("SELECT * FROM audit_log", "audit_log is not a table the explorer reads"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv() is refused"),
    ("INSTALL httpfs", "INSTALL (LOAD) statements are refused"),
])
def test_refused_queries_exit_2_with_the_reason(mirror: Path, sql: str, words: str) -> None:
    done = connect_ops(mirror, "query", sql)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("connect-ops query: refused: ") and words in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_row_cap_and_time_limit(mirror: Path) -> None:
    done = connect_ops(mirror, "query", "SELECT * FROM range(1000)", "--max-rows", "5")
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 6
    assert "stopped at --max-rows 5" in done.stderr
    slow = "SELECT count(*) FROM range(100000000) a, range(100000000) b WHERE a.range + b.range = -1"
    done = connect_ops(mirror, "query", slow, "--timeout", "0.5")
    assert done.returncode == 1 and "stopped after 0.5 s" in done.stderr


def test_the_mirror_is_opened_read_only_and_left_unchanged(mirror: Path) -> None:
    before = mirror.stat().st_mtime_ns
    done = connect_ops(mirror, "query", "SELECT count(*) AS n FROM charges")
    assert done.returncode == 0, done.stderr
    assert mirror.stat().st_mtime_ns == before


@pytest.mark.parametrize("flag, value", [("--timeout", "nan"), ("--timeout", "inf"), ("--timeout", "-1"),
                                         ("--timeout", "1e12"), ("--max-rows", "0"), ("--memory-mb", "1"),
                                         ("--max-mb", "0"), ("--timeout", "soon")])
def test_every_limit_has_a_range(mirror: Path, flag: str, value: str) -> None:
    """Issue 19: `--timeout nan` disabled the time limit."""
    result = connect_ops(mirror, "query", "SELECT 1", flag, value)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_the_nested_comment_explain_prints_no_note(mirror: Path) -> None:
    """Issue 19: this printed note bodies (the guard checked a string literal, DuckDB ran EXPLAIN ANALYZE)."""
    with Store(mirror) as store:
        account = store.cursor().execute("SELECT id FROM connected_accounts LIMIT 1").fetchall()[0][0]
        with store.transaction() as conn:
            conn.execute("INSERT INTO account_notes (account_id, created_at, author_email, body) "
                         "VALUES (?, now(), 'canary@x', 'CANARY-note-19')", [account])
    sql = ("/* /* */ EXPLAIN SELECT ' */ EXPLAIN ANALYZE SELECT c.id FROM charges c JOIN account_notes n "
           "ON c.description = n.author_email || n.body -- '")
    result = connect_ops(mirror, "query", sql)
    assert "CANARY-note-19" not in result.stdout + result.stderr
    assert result.returncode == 2 and "EXPLAIN statements are refused" in result.stderr
