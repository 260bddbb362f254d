"""What people wrote, kept apart from what Stripe says: the records database.

The mirror can be rebuilt from Stripe at any time (delete its file, or `connect-ops sync --rebuild`); the
audit log, notes, risk reviews and their events, payout pauses, tax overrides and saved queries cannot.
They live in a DuckDB file of their own (CONNECT_OPS_RECORDS_DB; by default beside the mirror,
`<mirror>.records.duckdb`), which the store attaches as `records` and puts on every connection's search
path, so `INSERT INTO audit_log` and `FROM risk_reviews r JOIN connected_accounts a` read as before.

Moving an older mirror's tables here is lossless and safe to interrupt: the records tables are created,
every row is copied (`INSERT OR IGNORE` by primary key, so a copy interrupted and run again adds what is
missing and nothing twice), sequences are moved past the largest id, and only then are the mirror's
tables dropped. DuckDB writes one database per transaction, so an action's mirror rows and its audit row
commit one after the other (core/actions.py: the mirror first, since it can be rebuilt).
"""
from __future__ import annotations

from pathlib import Path

import duckdb

from core.clock import utc_now

ALIAS = "records"
# The people's tables, in the order their DDL creates them, and the sequence behind each id.
TABLES = ("audit_log", "account_notes", "risk_reviews", "risk_review_events", "risk_payout_pauses",
          "tax_form_overrides", "explore_queries", "tax_filed_forms")
SEQUENCES = {"audit_log": "audit_log_id", "account_notes": "account_notes_id",
             "risk_review_events": "risk_review_events_id"}


class RecordsError(RuntimeError):
    """The records file cannot be used; nothing was changed. The message says what to do in one line."""


def default_path(mirror: str) -> str:
    """Beside the mirror: data/connect_ops.duckdb -> data/connect_ops.records.duckdb."""
    if mirror in ("", ":memory:") or mirror.startswith(":memory:") or mirror.startswith("md:"):
        return ":memory:"
    path = Path(mirror)
    return str(path.with_name(f"{path.stem}.records{path.suffix or '.duckdb'}"))


def search_path(conn: duckdb.DuckDBPyConnection) -> str:
    main = conn.execute("SELECT current_database()").fetchall()[0][0]
    return f"{main}.main,{ALIAS}.main"


def attach(conn: duckdb.DuckDBPyConnection, path: str, migrations: list[tuple[int, str]],
           *, read_only: bool = False) -> None:
    """Attach the records file (made and migrated if need be), move an older mirror's tables into it, and
    put it on this connection's search path. RecordsError if the file is not a usable records database."""
    mode = " (READ_ONLY)" if read_only else ""
    if conn.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = ?", [ALIAS]).fetchall()[0][0]:
        conn.execute(f"SET search_path = '{search_path(conn)}'")  # a second store on the same file, same process
        return
    if path != ":memory:":
        if read_only and not Path(path).is_file():
            raise RecordsError(f"no records file at {path} (CONNECT_OPS_RECORDS_DB): start the app or run "
                               "`connect-ops sync` once to create it")
        _check_readable(path)
    try:
        conn.execute(f"ATTACH ? AS {ALIAS}{mode}", [path])
    except duckdb.Error as exc:
        raise RecordsError(_damaged(path, exc)) from None
    try:
        if not read_only:
            _migrate(conn, migrations)
            _move(conn)
        conn.execute(f"SET search_path = '{search_path(conn)}'")
    except duckdb.Error as exc:
        raise RecordsError(_damaged(path, exc)) from None


def _check_readable(path: str) -> None:
    """Open the file on its own first: a damaged file fails here, before anything writes to it."""
    if not Path(path).is_file():
        return
    try:
        probe = duckdb.connect(path, read_only=True)
    except duckdb.Error as exc:
        if "lock" in str(exc).lower():
            return  # in use by this process's own store (tests) or another: ATTACH says so in words
        raise RecordsError(_damaged(path, exc)) from None
    try:
        probe.execute("SELECT count(*) FROM duckdb_tables()").fetchall()
    except duckdb.Error as exc:
        raise RecordsError(_damaged(path, exc)) from None
    finally:
        probe.close()


def _damaged(path: str, exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if "lock" in first.lower():
        return (f"records file {path} is locked by another Connect Ops process (is the app running?); "
                "stop it or point CONNECT_OPS_RECORDS_DB elsewhere")
    return (f"records file {path} (CONNECT_OPS_RECORDS_DB) cannot be read ({first}); it was left as it is: "
            "restore it with `connect-ops restore DIR` from a backup")


def _migrate(conn: duckdb.DuckDBPyConnection, migrations: list[tuple[int, str]]) -> None:
    conn.execute(f"CREATE TABLE IF NOT EXISTS {ALIAS}.main.schema_migrations "
                 "(version INTEGER PRIMARY KEY, applied_at TIMESTAMP)")
    applied = {r[0] for r in conn.execute(f"SELECT version FROM {ALIAS}.main.schema_migrations").fetchall()}
    main = conn.execute("SELECT current_database()").fetchall()[0][0]
    for version, sql in migrations:
        if version in applied:
            continue
        conn.execute(f"USE {ALIAS}")
        try:
            conn.execute("BEGIN")
            try:
                conn.execute(sql)
                conn.execute(f"INSERT INTO {ALIAS}.main.schema_migrations VALUES (?, ?)", [version, utc_now()])
                conn.execute("COMMIT")
            except Exception:
                conn.execute("ROLLBACK")
                raise
        finally:
            conn.execute(f"USE {main}")


def _tables(conn: duckdb.DuckDBPyConnection, database: str) -> set[str]:
    return {r[0] for r in conn.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ?",
                                       [database]).fetchall()}


def _move(conn: duckdb.DuckDBPyConnection) -> None:
    """Copy the mirror's people's tables into the records database, then drop them from the mirror."""
    main = conn.execute("SELECT current_database()").fetchall()[0][0]
    old = [t for t in TABLES if t in _tables(conn, main)]
    if not old:
        return
    conn.execute("BEGIN")  # writes the records database only
    try:
        for table in old:
            conn.execute(f"INSERT OR IGNORE INTO {ALIAS}.main.{table} SELECT * FROM {main}.main.{table}")
        for table, sequence in SEQUENCES.items():
            _advance(conn, f"{ALIAS}.main.{sequence}", f"{ALIAS}.main.{table}")
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise
    conn.execute("BEGIN")  # then the mirror alone: every row is in the records database by now
    try:
        for table in old:
            conn.execute(f"DROP TABLE {main}.main.{table}")
        for table, sequence in SEQUENCES.items():
            conn.execute(f"DROP SEQUENCE IF EXISTS {main}.main.{sequence}")
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise


def _advance(conn: duckdb.DuckDBPyConnection, sequence: str, table: str) -> None:
    """Move the sequence past the table's largest id (DuckDB has no setval)."""
    top = conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchall()[0][0]
    following = conn.execute(f"SELECT nextval('{sequence}')").fetchall()[0][0]
    if following < top:
        conn.execute(f"SELECT max(nextval('{sequence}')) FROM range(?)", [top - following]).fetchall()


# --------------------------------------------------------------------------- backup and restore

BACKUP_NAME = "records.duckdb"


def backup(records: str, folder: Path) -> dict[str, int]:
    """A consistent copy of the records file in `folder` (folder/records.duckdb), while the app runs or not.

    Written under a temporary name and renamed only once it opens and reads, so a backup killed at any
    instant leaves the previous one whole. Returns the rows per table of the copy.
    """
    import os
    import shutil
    import time

    source = Path(records)
    if not source.is_file():
        raise RecordsError(f"no records file at {source} (CONNECT_OPS_RECORDS_DB): nothing to back up")
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(f"{BACKUP_NAME}.tmp-*"):
        stale.unlink(missing_ok=True)
    tmp = folder / f"{BACKUP_NAME}.tmp-{os.getpid()}"
    wal = Path(str(source) + ".wal")
    for _attempt in range(50):
        # The app holds the file open: copy its bytes (and its write-ahead log) when nothing is written meanwhile.
        before = _stamp(source), _stamp(wal)
        shutil.copyfile(source, tmp)
        if wal.exists():
            shutil.copyfile(wal, str(tmp) + ".wal")
        if (_stamp(source), _stamp(wal)) == before:
            try:
                counts = _settle(tmp)
                break
            except duckdb.Error:
                pass
        for leftover in (tmp, Path(str(tmp) + ".wal")):
            leftover.unlink(missing_ok=True)
        time.sleep(0.1)
    else:
        raise RecordsError(f"records file {source} kept changing: no consistent copy after 50 tries; try again")
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, folder / BACKUP_NAME)
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return counts


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return status.st_size, status.st_mtime_ns


def _settle(path: Path) -> dict[str, int]:
    """Open the copy, fold its write-ahead log in, and count its rows (duckdb.Error if it is not whole)."""
    con = duckdb.connect(str(path))
    try:
        con.execute("CHECKPOINT")
        present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "audit_log" not in present:
            raise duckdb.InvalidInputException("not a Connect Ops records database (no audit_log)")
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in TABLES if t in present}
    finally:
        con.close()
        Path(str(path) + ".wal").unlink(missing_ok=True)


def restore(folder: Path, records: str) -> dict[str, int]:
    """Put folder/records.duckdb back as the records file (the app must be stopped); the file it replaces is
    kept beside it as `<records>.before-restore`. Returns the rows per table restored."""
    import os
    import shutil

    source = folder / BACKUP_NAME
    if not source.is_file():
        raise RecordsError(f"no backup at {source}: give the folder `connect-ops backup` wrote")
    target = Path(records)
    if target.is_file():
        try:
            duckdb.connect(str(target)).close()
        except duckdb.Error as exc:
            if "lock" in str(exc).lower():
                raise RecordsError(f"records file {target} is in use (is the app running?): stop it, then restore")
    tmp = target.with_name(target.name + f".restoring-{os.getpid()}")
    shutil.copyfile(source, tmp)
    try:
        counts = _settle(tmp)
    except duckdb.Error as exc:
        tmp.unlink(missing_ok=True)
        raise RecordsError(f"the backup {source} cannot be read ({str(exc).splitlines()[0]}); nothing was changed")
    for part in ("", ".wal"):
        old = Path(str(target) + part)
        if old.exists():
            os.replace(old, Path(str(target) + ".before-restore" + part))
    os.replace(tmp, target)
    return counts
