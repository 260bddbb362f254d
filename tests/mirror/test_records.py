"""Issue 19, section 2: what people wrote lives apart from what Stripe says (core/mirror/records.py).

Deleting or truncating the mirror loses no audit row, note, review, pause, override or saved query; an older
mirror's tables move losslessly; a damaged records file is one line and is never overwritten; backups are
consistent while the app writes, and a backup killed at any instant leaves the last good one usable.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from core import audit
from core.auth import Actor, Role
from core.clock import utc_now
from core.mirror import records
from core.mirror.store import Store, StoreError, _migrate

ROOT = Path(__file__).resolve().parents[2]
ADMIN = Actor(email="ada@corp.example", role=Role.ADMIN)


def plant(conn: duckdb.DuckDBPyConnection, n: int = 3) -> None:
    """A row in every people's table (and n audit rows), by plain SQL: the tables as every migration made them."""
    now = utc_now()
    for i in range(n):
        conn.execute("INSERT INTO audit_log (occurred_at, actor_email, actor_role, action, params, result) "
                     "VALUES (?, 'a@x', 'admin', ?, '{}', 'succeeded')", [now, f"act{i}"])
    conn.execute("INSERT INTO account_notes (account_id, created_at, author_email, body) VALUES "
                 "('acct_1', ?, 'a@x', 'a note 👍')", [now])
    conn.execute("INSERT INTO risk_reviews VALUES ('acct_1', 'in_review', 'r@x', NULL, ['sig'], ?, 'r@x', 1)", [now])
    conn.execute("INSERT INTO risk_review_events (account_id, occurred_at, actor_email, from_state, to_state, note) "
                 "VALUES ('acct_1', ?, 'r@x', 'new', 'in_review', 'why')", [now])
    conn.execute("INSERT INTO risk_payout_pauses VALUES ('acct_1', 'manual_schedule', '{\"interval\": \"daily\"}', ?, "
                 "'r@x', 1)", [now])
    conn.execute("INSERT INTO tax_form_overrides VALUES ('acct_1', 2024, 'nec', 'REQUIRED', ?, 'f@x')", [now])
    conn.execute("INSERT INTO explore_queries VALUES ('q_1', 'name', 'o@x', 'SELECT 1', NULL, ?, ?)", [now, now])


def contents(db: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every people's table's rows; a table the database lacks holds none (an older mirror never had
    tax_filed_forms, which came after the move)."""
    present = {r[0] for r in db.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    return {t: sorted(map(repr, db.execute(f"SELECT * FROM {t}").fetchall())) if t in present else []
            for t in records.TABLES}


def main_tables(store: Store) -> set[str]:
    cur = store.cursor()
    main = cur.execute("SELECT current_database()").fetchall()[0][0]
    return {r[0] for r in cur.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [main]).fetchall()}


def test_people_records_are_a_file_of_their_own(tmp_path: Path) -> None:
    mirror = tmp_path / "m.duckdb"
    with Store(mirror) as store:
        assert not main_tables(store) & set(records.TABLES), "no people's table in the mirror"
        with store.transaction() as conn:
            audit.record(conn, ADMIN, "x", account_id=None, target_id=None, params={}, reason=None, result="succeeded")
        assert store.records_path == str(tmp_path / "m.records.duckdb")
    with duckdb.connect(str(tmp_path / "m.records.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM audit_log").fetchall() == [(1,)]


def test_an_older_mirror_moves_every_row_losslessly(tmp_path: Path) -> None:
    mirror = tmp_path / "old.duckdb"
    with duckdb.connect(str(mirror)) as con:  # the layout before: every table in the mirror's file
        _migrate(con)
        plant(con, n=5)
        before = contents(con)
    with Store(mirror) as store:
        assert contents(store.cursor()) == before
        assert not main_tables(store) & set(records.TABLES)
        with store.transaction() as conn:
            new_id = audit.record(conn, ADMIN, "after", account_id=None, target_id=None, params={}, reason=None,
                                  result="succeeded")
        assert new_id > 5, "ids go on after the moved rows"
    with Store(mirror) as store:  # opened again: nothing moved twice, nothing lost
        assert len(store.cursor().execute("SELECT * FROM audit_log").fetchall()) == 6


def test_deleting_the_mirror_and_restarting_keeps_every_record(tmp_path: Path) -> None:
    mirror = tmp_path / "m.duckdb"
    with Store(mirror) as store:
        with store.transaction() as conn:
            plant(conn)
        before = contents(store.cursor())
    for part in (mirror, Path(str(mirror) + ".wal")):
        part.unlink(missing_ok=True)
    with Store(mirror) as store:
        assert contents(store.cursor()) == before


def test_a_truncated_mirror_is_one_line_and_a_rebuild_keeps_every_record(tmp_path: Path) -> None:
    mirror = tmp_path / "m.duckdb"
    with Store(mirror) as store:
        with store.transaction() as conn:
            plant(conn)
        store.checkpoint()
        before = contents(store.cursor())
    with open(mirror, "r+b") as handle:
        handle.truncate(mirror.stat().st_size // 3)
    with pytest.raises(StoreError) as caught:
        Store(mirror)
    assert "sync --rebuild" in str(caught.value) and "\n" not in str(caught.value)
    result = subprocess.run([sys.executable, "-c", "import sys; from core.cli import main; sys.exit(main())",
                             "accounts"], env=_env(mirror), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "rebuild" in result.stderr, result.stderr
    from core.cli.sync import remove_mirror

    remove_mirror(mirror)
    with Store(mirror) as store:
        assert contents(store.cursor()) == before


def test_a_damaged_records_file_is_one_line_and_never_overwritten(tmp_path: Path) -> None:
    mirror = tmp_path / "m.duckdb"
    damaged = tmp_path / "m.records.duckdb"
    damaged.write_bytes(b"not a database" * 1000)
    with pytest.raises(StoreError) as caught:
        Store(mirror)
    message = str(caught.value)
    assert "records file" in message and "restore" in message and "\n" not in message
    assert damaged.read_bytes() == b"not a database" * 1000


# --------------------------------------------------------------------------- backup and restore


def _env(mirror: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "CONNECT_OPS_"))}
    env.update(CONNECT_OPS_DB=str(mirror), STRIPE_API_KEY="sk_test_records_1")
    return env


def _cli(mirror: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "import sys; from core.cli import main; sys.exit(main())", *args],
                          env=_env(mirror), cwd=ROOT, capture_output=True, text=True, timeout=120)


APP = """
import sys, time
from core import audit
from core.mirror.store import Store
store = Store(sys.argv[1])
print("ready", flush=True)
while True:
    with store.transaction() as conn:
        audit.record(conn, None, "busy", account_id=None, target_id=None, params={"n": 1}, reason=None,
                     result="succeeded")
    time.sleep(0.005)
"""


def test_backup_while_the_app_writes_then_restore(tmp_path: Path) -> None:
    mirror = tmp_path / "m.duckdb"
    with Store(mirror) as store:
        with store.transaction() as conn:
            plant(conn)
    app = subprocess.Popen([sys.executable, "-c", APP, str(mirror)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert app.stdout is not None and app.stdout.readline().strip() == "ready"
        time.sleep(0.5)
        done = _cli(mirror, "backup", str(tmp_path / "backup"))
        assert done.returncode == 0, done.stderr
        refused = _cli(mirror, "restore", str(tmp_path / "backup"))
        assert refused.returncode == 1 and "stop it" in refused.stderr and "Traceback" not in refused.stderr
    finally:
        app.kill()
        app.wait()
    with duckdb.connect(str(tmp_path / "backup" / "records.duckdb"), read_only=True) as con:
        backed = con.execute("SELECT count(*) FROM audit_log").fetchall()[0][0]
        assert backed >= 3 and con.execute("SELECT body FROM account_notes").fetchall() == [("a note 👍",)]
    for part in (mirror, Path(str(mirror) + ".wal"), tmp_path / "m.records.duckdb",
                 tmp_path / "m.records.duckdb.wal"):
        part.unlink(missing_ok=True)
    restored = _cli(mirror, "restore", str(tmp_path / "backup"))
    assert restored.returncode == 0, restored.stderr
    with Store(mirror) as store:
        assert store.cursor().execute("SELECT count(*) FROM audit_log").fetchall()[0][0] == backed


def test_kill_9_during_a_backup_leaves_the_last_good_one_usable(tmp_path: Path) -> None:
    mirror = tmp_path / "m.duckdb"
    with Store(mirror) as store:
        with store.transaction() as conn:
            plant(conn, n=2000)
    folder = tmp_path / "backup"
    assert _cli(mirror, "backup", str(folder)).returncode == 0
    rng = random.Random(19)
    for _ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", "import sys; from core.cli import main; sys.exit(main())",
                                 "backup", str(folder)], env=_env(mirror), cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 1.2))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        with duckdb.connect(str(folder / "records.duckdb"), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM audit_log").fetchall() == [(2000,)]


def test_sync_rebuild_starts_the_mirror_afresh_and_keeps_the_records(tmp_path: Path, emulator) -> None:
    mirror = tmp_path / "m.duckdb"
    with Store(mirror) as store:
        with store.transaction() as conn:
            plant(conn)
        before = contents(store.cursor())
    with open(mirror, "r+b") as handle:
        handle.truncate(mirror.stat().st_size // 2)
    env = {**_env(mirror), "STRIPE_API_KEY": emulator.api_key, "STRIPE_API_BASE": emulator.base_url,
           "CONNECT_OPS_MAX_RPS": "400", "CONNECT_OPS_MAX_RPS_PER_ENDPOINT": "400"}
    done = subprocess.run([sys.executable, "-c", "import sys; from core.cli import main; sys.exit(main())",
                           "sync", "--rebuild", "--quiet"], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    with Store(mirror) as store:
        assert contents(store.cursor()) == before
        assert store.cursor().execute("SELECT count(*) FROM charges").fetchall()[0][0] > 0


def test_a_rebuild_never_deletes_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("precious")
    done = subprocess.run([sys.executable, "-c", "import sys; from core.cli import main; sys.exit(main())",
                           "sync", "--rebuild"], env=_env(other), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "not a DuckDB file" in done.stderr and other.read_text() == "precious"
