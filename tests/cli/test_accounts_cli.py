"""`connect-ops accounts` as people run it: a subprocess reading a mirror, printing the page's list."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.mirror.schema import TABLES
from core.support.accounts import AccountFilters, accounts_rows

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("connect-ops")


def connect_ops(db: Path, *args: str, key: str | None = "sk_test_cli_accounts_1") -> subprocess.CompletedProcess[str]:
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-c",
                                                     "import sys; from core.cli import main; sys.exit(main())"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "CONNECT_OPS_"))}
    env.update(CONNECT_OPS_DB=str(db), **({"STRIPE_API_KEY": key} if key else {}))
    return subprocess.run([*command, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.fixture(scope="module")
def mirror(synced_store, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the session's synced demo in a file of its own (the session's store holds DuckDB's lock
    on the original; the app holds it the same way on a real mirror)."""
    path = tmp_path_factory.mktemp("cli") / "mirror.duckdb"
    cur = synced_store.cursor()
    cur.execute("ATTACH ? AS copy", [str(path)])
    try:
        for table in TABLES:
            cur.execute(f"CREATE TABLE copy.{table} AS SELECT * FROM {table}")
    finally:
        cur.execute("DETACH copy")
    return path


def test_csv_lists_what_the_page_lists(mirror: Path, synced_store) -> None:
    done = connect_ops(mirror, "accounts", "--status", "restricted,enabled", "--sort", "balance", "--desc",
                       "--format", "csv")
    assert done.returncode == 0, done.stderr
    table = list(csv.DictReader(io.StringIO(done.stdout)))
    expected = accounts_rows(synced_store.cursor(), AccountFilters(status=("restricted", "enabled"), sort="balance"))
    assert [r["id"] for r in table] == [r.id for r in expected]
    for line, row in zip(table, expected):
        assert (line["status"], line["balance"]) == (row.status_label, row.balance_text)
        assert {c: int(line[f"balance_{c}_minor"]) for c in row.balance} == row.balance
    assert done.stderr == ""


def test_json_in_demo_mode_reads_the_configured_mirror(mirror: Path, synced_store) -> None:
    done = connect_ops(mirror, "accounts", "--country", "US", "--metadata", "signup_channel", "--format", "json",
                       key=None)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    accounts = {i: json.loads(r) for i, r in synced_store.cursor().execute(
        "SELECT id, raw FROM connected_accounts").fetchall()}
    expected = {i for i, a in accounts.items() if a["country"] == "US" and "signup_channel" in a["metadata"]}
    assert {r["id"] for r in rows} == expected and all(isinstance(r["balance"], dict) for r in rows)


def test_a_missing_mirror_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nothing" / "here.duckdb"
    done = connect_ops(missing, "accounts")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "no mirror at" in done.stderr and "Traceback" not in done.stderr
    assert not missing.parent.exists(), "reading never creates a mirror"


def test_a_bad_filter_is_one_line(mirror: Path) -> None:
    done = connect_ops(mirror, "accounts", "--country", "USA")
    assert done.returncode == 2 and "--country" in done.stderr and "Traceback" not in done.stderr
