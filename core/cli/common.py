"""What every `connect-ops` export shares: where the mirror is, opening it read-only, writing stdout."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import duckdb

from core.mirror.store import DatabaseLockedError, StoreError
from core.settings import load_settings


def words(text: str) -> list[str]:
    """`--status a,b`: a comma-separated option value as a list."""
    return [part.strip() for part in text.split(",") if part.strip()]


def mirror_path() -> Path:
    settings = load_settings()
    if settings.demo_mode:
        from core.app.runtime import demo_database_path

        return demo_database_path(settings)
    return settings.connect_ops_db


def records_path(mirror: Path) -> str:
    """Where the people's records are (CONNECT_OPS_RECORDS_DB, else beside the mirror)."""
    from core.mirror.records import default_path

    configured = load_settings().connect_ops_records_db
    return str(configured) if configured else default_path(str(mirror))


def open_mirror(path: Path, *, records: bool = True) -> duckdb.DuckDBPyConnection:
    """The mirror and the people's records (`records`), read-only, as one database for every cursor: an
    in-memory database with a view of each of their tables (a search path would hold for one connection
    only). A missing records file reads as empty records. A missing, locked, damaged or foreign file is a
    StoreError of one line."""
    from core.mirror.records import RecordsError, _check_readable, _damaged

    if not path.is_file():
        raise StoreError(f"no mirror at {path} (CONNECT_OPS_DB): run `connect-ops sync` (or the app) first")
    try:
        probe = duckdb.connect(str(path), read_only=True)
        probe.close()
    except duckdb.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if "lock" in first.lower():
            raise DatabaseLockedError(f"{path} is in use by another Connect Ops process (the app or a sync); "
                                      "export from the Merchants page instead, or stop it") from None
        raise StoreError(damaged(path, exc)) from None
    con = duckdb.connect(":memory:")
    try:
        con.execute("ATTACH ? AS mirror (READ_ONLY)", [str(path)])
        tables = _views(con, "mirror", set())
        if records:
            people = records_path(path)
            try:
                if people != ":memory:" and Path(people).is_file():
                    _check_readable(people)
                    con.execute("ATTACH ? AS records (READ_ONLY)", [people])
                    _views(con, "records", tables, replace=True)
                else:
                    _empty_records(con, tables)
            except duckdb.Error as exc:
                raise RecordsError(_damaged(people, exc)) from None
    except RecordsError as exc:
        con.close()
        raise StoreError(str(exc)) from None
    except duckdb.Error as exc:
        con.close()
        raise StoreError(damaged(path, exc)) from None
    missing = {"connected_accounts", "charges", "balance_transactions", "payouts", "disputes", "transfers"} - tables
    if missing:
        con.close()
        raise StoreError(f"{path} is not a Connect Ops mirror (no {', '.join(sorted(missing))} table): "
                         "run `connect-ops sync` first")
    return con


def _views(con: duckdb.DuckDBPyConnection, database: str, existing: set[str], *, replace: bool = False) -> set[str]:
    """A view in the in-memory database for each table of `database`; the names made."""
    names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ? "
                                       "AND schema_name = 'main'", [database]).fetchall()]
    for name in names:
        if name in existing and not replace:
            continue
        verb = "CREATE OR REPLACE VIEW" if name in existing else "CREATE VIEW"
        con.execute(f'{verb} memory.main."{name}" AS SELECT * FROM {database}.main."{name}"')
    return existing | set(names)


def _empty_records(con: duckdb.DuckDBPyConnection, existing: set[str]) -> None:
    """No records file yet (a mirror copied on its own): the people's tables, empty."""
    from core.mirror.records import TABLES
    from core.mirror.store import RECORDS_MIGRATIONS

    if set(TABLES) <= existing:  # an older mirror that still holds them
        return
    con.execute("ATTACH ':memory:' AS records")
    con.execute("USE records")
    for _version, sql in RECORDS_MIGRATIONS:
        con.execute(sql)
    con.execute("USE memory")
    _views(con, "records", existing, replace=False)


def write_out(text: str) -> None:
    """Write an export to stdout; a reader that stops early (`| head`) is not an error."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def damaged(path: Path, exc: BaseException) -> str:
    """One line for a mirror DuckDB cannot read (a truncated or foreign file): rebuild it."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return (f"CONNECT_OPS_DB={path}: cannot open it as a DuckDB database ({first}); if it is the mirror, "
            "rebuild it from Stripe with `connect-ops sync --rebuild` (people's records are kept apart, untouched)")
