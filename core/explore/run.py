"""Running an analyst's query: guarded, read-only, bounded in time and rows, and audited.

`execute(cursor, sql)` is the whole path for anyone holding a cursor (the page through `run`, the
`connect-ops query` command directly): the guard (core/explore/guard.py), then the statement inside
`BEGIN TRANSACTION READ ONLY` on that cursor alone, a timer that interrupts it after `Limits.seconds`
("stopped after 30 s"), and at most `Limits.download_rows` rows (and `download_bytes`) fetched, of
which the page shows the first `shown_rows`. `run(store, actor, sql)` adds the permission check and
one audit row per run, whatever happened (who, the SQL, rows returned, seconds; refused and failed
runs too, with the reason).
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from core import audit
from core.auth import Actor, require
from core.explore.guard import CheckedQuery, QueryRefused, check
from core.export import csv_text

AUDIT_ACTION = "explore_query"
BATCH_ROWS = 10_000


@dataclass(frozen=True)
class Limits:
    seconds: float = 30.0  # then DuckDB is interrupted
    shown_rows: int = 1_000  # what the page's table shows
    download_rows: int = 100_000  # what is fetched at most (the CSV download, the command line)
    download_bytes: int = 64 * 2**20  # and at most this much of it in memory


class QueryFailed(RuntimeError):
    """DuckDB could not run the query (a wrong column, a type error...); the message is its first line."""


class QueryTimedOut(QueryFailed):
    """The query ran past the time limit and was interrupted."""


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


def execute(cursor: duckdb.DuckDBPyConnection, sql: str, limits: Limits = Limits()) -> QueryResult:
    """Guard, then run read-only within the limits; QueryRefused, QueryTimedOut or QueryFailed otherwise.

    `cursor` should be one of its own (Store.cursor()): it is interrupted at the time limit.
    """
    checked = guard(cursor, sql)
    started = time.monotonic()
    fired = threading.Event()

    def stop() -> None:
        fired.set()
        cursor.interrupt()

    timer = threading.Timer(limits.seconds, stop)
    timer.daemon = True
    cursor.execute("BEGIN TRANSACTION READ ONLY").fetchall()
    timer.start()
    try:
        table, truncated = _fetch(cursor, checked.sql, limits)
    except duckdb.InterruptException:
        raise QueryTimedOut(f"stopped after {limits.seconds:g} s: the time limit for one query. Narrow it "
                            "(a WHERE on created, fewer joins) or aggregate, then run it again") from None
    except duckdb.Error as exc:
        if fired.is_set():
            raise QueryTimedOut(f"stopped after {limits.seconds:g} s: the time limit for one query") from None
        raise QueryFailed(_first_line(exc)) from None
    finally:
        timer.cancel()
        timer.join()  # not left to interrupt a cursor (or be alive) at interpreter exit
        try:
            cursor.execute("ROLLBACK")
        except duckdb.Error:
            pass
    seconds = time.monotonic() - started
    return QueryResult(sql=checked.sql, frame=_frame(table), seconds=seconds, truncated=truncated, limits=limits,
                       tables=checked.tables)


def run(store: Any, actor: Actor, sql: str, *, limits: Limits = Limits(), source: str | None = None) -> QueryResult:
    """The page's run: permission, execute on a cursor of its own, and one audit row whatever the outcome.

    `store` is the app's Store (its cursor reads, its transaction writes the audit row); `source` names
    the starter or saved query the SQL came from (the audit row's target), if any.
    """
    started = time.monotonic()
    try:
        require(actor, "page:explore")
    except Exception as exc:
        _audit(store, actor, sql, source, "denied", error=str(exc), seconds=0.0)
        raise
    cursor = store.cursor()
    try:
        result = execute(cursor, sql, limits)
    except QueryRefused as exc:
        _audit(store, actor, sql, source, "denied", error=str(exc), seconds=time.monotonic() - started)
        raise
    except QueryFailed as exc:
        _audit(store, actor, sql, source, "failed", error=str(exc), seconds=time.monotonic() - started)
        raise
    finally:
        cursor.close()
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


def _fetch(cursor: duckdb.DuckDBPyConnection, sql: str, limits: Limits) -> tuple[pa.Table, bool]:
    """At most download_rows rows (and about download_bytes), streamed; and whether there were more."""
    relation = cursor.sql(sql)
    with relation.limit(limits.download_rows + 1).to_arrow_reader(BATCH_ROWS) as reader:  # released on return
        return _read(reader, limits)


def _read(reader: pa.RecordBatchReader, limits: Limits) -> tuple[pa.Table, bool]:
    batches: list[pa.RecordBatch] = []
    rows = size = 0
    truncated = False
    for batch in reader:
        if rows + batch.num_rows > limits.download_rows:
            batch = batch.slice(0, limits.download_rows - rows)
            truncated = True
        if size + batch.nbytes > limits.download_bytes and batches:
            keep = max(1, int(batch.num_rows * (limits.download_bytes - size) / max(batch.nbytes, 1)))
            batch = batch.slice(0, min(keep, batch.num_rows))
            truncated = True
        batches.append(batch)
        rows += batch.num_rows
        size += batch.nbytes
        if truncated:
            break
    return pa.Table.from_batches(batches, schema=reader.schema), truncated


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
            series = column.to_pandas()
        except (pa.ArrowException, TypeError, ValueError, NotImplementedError):
            series = pd.Series([None if v is None else str(v) for v in column.to_pylist()], dtype=object)
        if pa.types.is_integer(column.type) and column.null_count:
            series = series.astype("Int64")
        columns[name] = series.reset_index(drop=True)
    return pd.DataFrame(columns, columns=names) if columns else pd.DataFrame()


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
