"""Running an analyst's query: guarded, read-only, bounded in time, memory and rows, and audited.

`execute(database, sql)` runs one query on the explorer's database (core/explore/snapshot.py: a copy of
the mirror's queryable tables and nothing else): the guard (core/explore/guard.py), then a worker
process (core/explore/worker.py) that checks it again, runs it read-only with `Limits.memory_mb` of
memory at most, and returns at most `Limits.download_rows` rows and `download_bytes` bytes, of which
the page shows the first `shown_rows`. The worker is killed at `Limits.seconds` plus a few seconds of
start-up, whatever the query does. `run(store, actor, sql)` adds the permission check and exactly one
audit row per run, whatever its end (who, the SQL, rows returned, seconds; refused and failed runs too,
with the reason).
"""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from core import audit
from core.auth import Actor, PermissionDenied, require
from core.explore.guard import CheckedQuery, QueryRefused, check
from core.explore.worker import ENVIRONMENT
from core.export import csv_text

AUDIT_ACTION = "explore_query"
START_UP_SECONDS = 5.0  # the worker's start (imports, opening the copy) on a busy machine: then it is killed
# Bounds of each limit (settings and flags are checked against these; see core/settings.py, core/cli/query.py).
SECONDS_RANGE = (0.1, 3_600.0)
MEMORY_MB_RANGE = (128, 65_536)


@dataclass(frozen=True)
class Limits:
    seconds: float = 30.0  # then the query is stopped (and its worker killed a few seconds later at most)
    shown_rows: int = 1_000  # what the page's table shows
    download_rows: int = 100_000  # what is fetched at most (the CSV download, the command line)
    download_bytes: int = 64 * 2**20  # and at most this much of it
    memory_mb: int = 1_024  # what the query's worker process may use in all

    def __post_init__(self) -> None:
        if not (isinstance(self.seconds, (int, float)) and math.isfinite(self.seconds)
                and SECONDS_RANGE[0] <= self.seconds <= SECONDS_RANGE[1]):
            raise ValueError(f"the time limit must be between {SECONDS_RANGE[0]:g} and {SECONDS_RANGE[1]:g} seconds")
        if not MEMORY_MB_RANGE[0] <= self.memory_mb <= MEMORY_MB_RANGE[1]:
            raise ValueError(f"the memory limit must be between {MEMORY_MB_RANGE[0]} and {MEMORY_MB_RANGE[1]} MB")
        if self.download_rows < 1 or self.shown_rows < 1 or self.download_bytes < 1:
            raise ValueError("row and byte limits must be positive")


class QueryFailed(RuntimeError):
    """DuckDB could not run the query (a wrong column, a type error...); the message is its first line."""


class QueryTimedOut(QueryFailed):
    """The query ran past the time limit and was stopped."""


@dataclass
class QueryResult:
    sql: str
    frame: pd.DataFrame  # every row fetched (up to the download limits)
    seconds: float
    truncated: bool  # the query had more rows than were fetched
    limits: Limits = field(default_factory=Limits)
    tables: tuple[str, ...] = ()

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    @property
    def rows(self) -> int:
        """Rows returned (fetched): what the audit row says."""
        return len(self.frame)

    @property
    def shown(self) -> pd.DataFrame:
        return self.frame.head(self.limits.shown_rows)

    @property
    def summary(self) -> str:
        """"1,234 rows in 0.12 s", saying what is shown and what the download holds when they differ."""
        rows = f"{self.rows:,}+" if self.truncated else f"{self.rows:,}"
        text = f"{rows} row{'' if self.rows == 1 else 's'} in {self.seconds:.2f} s"
        if self.rows > self.limits.shown_rows:
            text += f"; the table shows the first {self.limits.shown_rows:,}"
        if self.truncated:
            text += f"; the query has more rows than the {self.rows:,} fetched (the download holds those)"
        return text

    def csv(self) -> str:
        """Every fetched row as CSV (core/export.py: text cells made inert for spreadsheets); lists and
        structs as JSON, missing values empty."""
        return csv_text(self.columns, ([_csv_cell(_plain(v)) for v in row] for row in self._rows()))

    def records(self) -> list[dict[str, Any]]:
        """Rows as JSON-ready dicts (timestamps as ISO text, missing values as None)."""
        return [{c: _plain(v) for c, v in zip(self.columns, row)} for row in self._rows()]

    def _rows(self):
        frame = self.frame.astype(object).where(self.frame.notna(), None)
        return frame.itertuples(index=False, name=None)


def relation_names(cursor: duckdb.DuckDBPyConnection) -> tuple[set[str], str]:
    """Every table and view name of the database (system views too), lower case, and its catalog name."""
    names = {r[0] for r in cursor.execute(
        "SELECT lower(table_name) FROM duckdb_tables() UNION SELECT lower(view_name) FROM duckdb_views()").fetchall()}
    database = cursor.execute("SELECT current_database()").fetchall()[0][0]
    return names, str(database)


def guard(cursor: duckdb.DuckDBPyConnection, sql: str) -> CheckedQuery:
    """The guard's verdict for this database (QueryRefused if the explorer may not run it)."""
    existing, database = relation_names(cursor)
    return check(sql, existing, database)


def explorer_database(cursor: duckdb.DuckDBPyConnection, mirror: str) -> Path:
    """The explorer's copy of this mirror, up to date (core/explore/snapshot.py)."""
    from core.explore.snapshot import snapshot_for

    return snapshot_for(cursor, mirror)


def execute(database: str | Path, sql: str, limits: Limits = Limits(), *,
            existing: set[str] | frozenset[str] = frozenset()) -> QueryResult:
    """Guard, then run in a worker process on `database` (the explorer's copy) within the limits;
    QueryRefused, QueryTimedOut or QueryFailed otherwise (never anything else).

    `existing` names the tables of the app's own database too, so a WITH name cannot pass for one.
    """
    checked = check(sql, existing)
    started = time.monotonic()
    status, payload = _in_worker(Path(database), checked.sql, limits)
    kind = status.get("status")
    if kind == "refused":
        raise QueryRefused(str(status.get("message")))
    if kind == "timeout":
        raise QueryTimedOut(f"stopped after {limits.seconds:g} s: the time limit for one query. Narrow it "
                            "(a WHERE on created, fewer joins) or aggregate, then run it again")
    if kind != "ok":
        raise QueryFailed(str(status.get("message") or "the query failed"))
    try:
        table = pa.ipc.open_stream(payload).read_all()
        frame = _frame(table)
    except Exception as exc:  # noqa: BLE001 - whatever a value does, the run ends in one line
        raise QueryFailed(f"cannot show the result: {_first_line(exc)}") from None
    seconds = float(status.get("seconds") or (time.monotonic() - started))
    return QueryResult(sql=checked.sql, frame=frame, seconds=seconds, truncated=bool(status.get("truncated")),
                       limits=limits, tables=checked.tables)


def _in_worker(database: Path, sql: str, limits: Limits) -> tuple[dict[str, Any], bytes]:
    """Run the worker; its status and its stdout (an Arrow IPC stream). Killed at the deadline."""
    request = json.dumps({"database": str(database), "sql": sql, "rows": limits.download_rows,
                          "bytes": limits.download_bytes, "seconds": limits.seconds, "memory_mb": limits.memory_mb,
                          "threads": min(2, os.cpu_count() or 1)})
    proc = subprocess.Popen([sys.executable, "-m", "core.explore.worker"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            cwd=str(Path(__file__).resolve().parents[2]), env={**os.environ, **ENVIRONMENT})
    try:
        out, err = proc.communicate(request.encode(), timeout=limits.seconds + START_UP_SECONDS)
    except subprocess.TimeoutExpired:
        _kill(proc)
        return {"status": "timeout"}, b""
    except BaseException:
        _kill(proc)
        raise
    lines = err.decode("utf-8", "replace").strip().splitlines()
    try:
        status = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        status = {}
    if not isinstance(status, dict) or "status" not in status:
        if proc.returncode and proc.returncode < 0:
            why = f"the query's process was stopped by signal {-proc.returncode} (out of memory?)"
        else:
            why = f"the query's process failed ({lines[-1][:200] if lines else 'no message'})"
        status = {"status": "failed", "message": why}
    return status, out


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.kill()
    proc.communicate()


def run(store: Any, actor: Actor, sql: str, *, limits: Limits = Limits(), source: str | None = None) -> QueryResult:
    """The page's run: permission, execute on the explorer's copy of the mirror, and exactly one audit row
    whatever the outcome.

    `store` is the app's Store (the copy is made from it; its transaction writes the audit row); `source`
    names the starter or saved query the SQL came from (the audit row's target), if any.
    """
    started = time.monotonic()
    try:
        require(actor, "page:explore")
    except PermissionDenied as exc:
        _audit(store, actor, sql, source, "denied", error=str(exc), seconds=0.0)
        raise
    try:
        cursor = store.cursor()
        try:
            existing, _database = relation_names(cursor)
            check(sql, existing)  # refused before any copy is made
            database = explorer_database(cursor, store.path)
        finally:
            cursor.close()
        result = execute(database, sql, limits, existing=existing)
    except QueryRefused as exc:
        _audit(store, actor, sql, source, "denied", error=str(exc), seconds=time.monotonic() - started)
        raise
    except QueryFailed as exc:
        _audit(store, actor, sql, source, "failed", error=str(exc), seconds=time.monotonic() - started)
        raise
    except Exception as exc:  # noqa: BLE001 - whatever else happens, one audit row and one line
        message = f"the query could not run: {_first_line(exc)}"
        _audit(store, actor, sql, source, "failed", error=message, seconds=time.monotonic() - started)
        raise QueryFailed(message) from None
    _audit(store, actor, sql, source, "succeeded", rows=result.rows, truncated=result.truncated,
           seconds=result.seconds)
    return result


def _audit(store: Any, actor: Actor, sql: str, source: str | None, result: str, *, error: str | None = None,
           rows: int | None = None, truncated: bool = False, seconds: float) -> None:
    params: dict[str, Any] = {"sql": sql, "rows": rows, "seconds": round(seconds, 3)}
    if truncated:
        params["truncated"] = True
    with store.transaction() as conn:
        audit.record(conn, actor, AUDIT_ACTION, account_id=None, target_id=source, params=params, reason=None,
                     result=result, error=error)


# --------------------------------------------------------------------------- fetching and converting


def _frame(table: pa.Table) -> pd.DataFrame:
    """A DataFrame people and Plotly can read: unique column names, integer sums as integers (DuckDB sums
    BIGINT into HUGEINT, which Arrow carries as decimal(38, 0)), other decimals as floats, and anything
    pandas cannot hold as its text."""
    names = _unique([str(n) for n in table.column_names])
    columns = {}
    for name, column in zip(names, table.columns):
        kind = column.type
        if pa.types.is_decimal(kind):
            column = _decimal(column)
        try:
            if _infinite(column):
                raise OverflowError("infinite dates are shown as text")
            series = column.to_pandas()
        except (pa.ArrowException, TypeError, ValueError, NotImplementedError, OverflowError):
            series = pd.Series(_texts(column), dtype=object)
        if pa.types.is_integer(column.type) and column.null_count:
            series = series.astype("Int64")
        columns[name] = series.reset_index(drop=True)
    return pd.DataFrame(columns, columns=names) if columns else pd.DataFrame()


def _temporal_ints(column: pa.ChunkedArray) -> tuple[list[int | None], int] | None:
    """A date or timestamp column's raw integers and the largest one (DuckDB's `infinity`), else None."""
    kind = column.type
    if not (pa.types.is_date32(kind) or pa.types.is_date64(kind) or pa.types.is_timestamp(kind)):
        return None
    width, top = (pa.int32(), 2**31 - 1) if pa.types.is_date32(kind) else (pa.int64(), 2**63 - 1)
    return column.cast(width).to_pylist(), top


def _infinite(column: pa.ChunkedArray) -> bool:
    found = _temporal_ints(column)
    return bool(found) and any(v is not None and abs(v) >= found[1] - 1 for v in found[0])


def _texts(column: pa.ChunkedArray) -> list[str | None]:
    """Each value as text, for a column pandas cannot hold: DuckDB's infinite dates and timestamps, which
    Arrow carries as the extreme integers, read 'infinity' and '-infinity'."""
    found = _temporal_ints(column)
    if found is None:
        return _safe_strings(column)
    raws, top = found
    return [None if raw is None else "infinity" if raw >= top else "-infinity" if raw <= -(top - 1) else value
            for raw, value in zip(raws, _safe_strings(column))]


def _safe_strings(column: pa.ChunkedArray) -> list[str | None]:
    try:
        return [None if v is None else str(v) for v in column.cast(pa.string()).to_pylist()]
    except (pa.ArrowException, TypeError, ValueError, NotImplementedError, OverflowError):
        out: list[str | None] = []
        for chunk in column.chunks:
            for i in range(len(chunk)):
                try:
                    value = chunk[i].as_py()
                    out.append(None if value is None else str(value))
                except (pa.ArrowException, TypeError, ValueError, OverflowError):
                    out.append(str(chunk[i]))
        return out


def _decimal(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if column.type.scale == 0:
        try:
            return column.cast(pa.int64())
        except pa.ArrowInvalid:  # beyond int64: keep the digits as text rather than round them
            return column.cast(pa.string())
    return column.cast(pa.float64())


def _unique(names: list[str]) -> list[str]:
    """Column names made unique (SELECT a.id, b.id gives id and id_2): tables and charts pick by name."""
    used: set[str] = set()
    out = []
    for name in names:
        candidate, n = name, 1
        while candidate in used:
            n += 1
            candidate = f"{name}_{n}"
        used.add(candidate)
        out.append(candidate)
    return out


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    if isinstance(value, (dict, list, tuple)):
        return value
    if isinstance(value, (int, float, str, bool)):
        return value
    return str(value)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
