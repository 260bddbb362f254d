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
    """The mirror, read-only, with the people's records attached read-only (`records`); a missing, locked,
    damaged or foreign file is a StoreError of one line."""
    from core.mirror.records import RecordsError, attach

    if not path.is_file():
        raise StoreError(f"no mirror at {path} (CONNECT_OPS_DB): run `connect-ops sync` (or the app) first")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if "lock" in first.lower():
            raise DatabaseLockedError(f"{path} is in use by another Connect Ops process (the app or a sync); "
                                      "export from the Merchants page instead, or stop it") from None
        raise StoreError(damaged(path, exc)) from None
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if records:
            attach(con, records_path(path), [], read_only=True)
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
