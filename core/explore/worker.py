"""The process one explorer query runs in: `python -m core.explore.worker`, a request on stdin.

Why a process: DuckDB checks for an interrupt between chunks, so one expensive scalar call
(`list_sort(range(60000000))`) runs on long past any timer; a process can be killed at the deadline
whatever it does, and its memory is capped without touching the app's (DuckDB's `memory_limit`, and
`RLIMIT_AS` a fixed overhead above it for what DuckDB does not count). It opens the explorer's copy of the mirror (core/explore/snapshot.py), read
only, with external access off, configuration locked and no temp folder (nothing is written to disk);
checks the text again with the guard against that database's own names; runs it; and writes at most
`rows` rows and about `bytes` bytes as an Arrow IPC stream on stdout. Its last stderr line is a JSON
status: {"status": "ok" | "refused" | "failed" | "timeout", "message", "truncated", "seconds"}.
"""
from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from typing import Any

BATCH_ROWS = 2_048
OVERHEAD_MB = 1_024  # address space for code, libraries and thread stacks, on top of what the query may hold
# For a bounded address space: few malloc arenas (each reserves 64 MB of it), Arrow on malloc.
ENVIRONMENT = {"MALLOC_ARENA_MAX": "2", "ARROW_DEFAULT_MEMORY_POOL": "system"}


def main() -> int:
    request = json.loads(sys.stdin.read())
    memory = (int(request["memory_mb"]) + OVERHEAD_MB) * 2**20
    try:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    except (ValueError, OSError):  # pragma: no cover - a platform without it still has DuckDB's limit
        pass
    try:
        status = _run(request)
    except MemoryError:
        status = {"status": "failed", "message": _memory_message(request)}
    sys.stderr.write("\n" + json.dumps(status) + "\n")
    sys.stderr.flush()
    # Leave without running destructors: a reader stopped early at a cap may still hold DuckDB threads,
    # and tearing those down at interpreter exit can abort; everything this process owes is written.
    os._exit(0)


def _memory_message(request: dict[str, Any]) -> str:
    return (f"the query needs more memory than the {request['memory_mb']:,} MB a query may use: "
            "aggregate, filter or select fewer columns")


def _run(request: dict[str, Any]) -> dict[str, Any]:
    import duckdb
    import pyarrow as pa

    from core.explore.guard import QueryRefused, check

    duck_mb = int(request["memory_mb"])
    try:
        con = duckdb.connect(request["database"], read_only=True, config={
            "memory_limit": f"{duck_mb}MB", "threads": int(request.get("threads", 1)), "temp_directory": "",
            "autoinstall_known_extensions": False, "autoload_known_extensions": False,
            "python_enable_replacements": False})
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except duckdb.Error as exc:
        return {"status": "failed", "message": f"cannot open the explorer's copy of the mirror ({_first_line(exc)})"}
    try:
        names = {r[0] for r in con.execute(
            "SELECT lower(table_name) FROM duckdb_tables() UNION SELECT lower(view_name) FROM duckdb_views()"
        ).fetchall()}
        database = str(con.execute("SELECT current_database()").fetchall()[0][0])
        checked = check(request["sql"], names, database)
    except QueryRefused as exc:
        return {"status": "refused", "message": str(exc)}
    fired = threading.Event()

    def stop() -> None:
        fired.set()
        con.interrupt()

    timer = threading.Timer(float(request["seconds"]), stop)
    timer.daemon = True
    started = time.monotonic()
    timer.start()
    try:
        con.execute("BEGIN TRANSACTION READ ONLY")
        truncated = _stream(con, checked.sql, int(request["rows"]), int(request["bytes"]), pa)
    except duckdb.InterruptException:
        return {"status": "timeout"}
    except duckdb.OutOfMemoryException:
        return {"status": "failed", "message": _memory_message(request)}
    except duckdb.Error as exc:
        if fired.is_set():
            return {"status": "timeout"}
        return {"status": "failed", "message": _first_line(exc)}
    except (pa.ArrowException, OverflowError, ValueError, TypeError) as exc:
        return {"status": "failed", "message": f"cannot return the result: {_first_line(exc)}"}
    finally:
        timer.cancel()
    return {"status": "ok", "truncated": truncated, "seconds": time.monotonic() - started,
            "tables": list(checked.tables)}


def _stream(con: Any, sql: str, max_rows: int, max_bytes: int, pa: Any) -> bool:
    """Write at most max_rows rows and about max_bytes bytes to stdout; True if the query had more."""
    reader = con.sql(sql).limit(max_rows + 1).to_arrow_reader(BATCH_ROWS)
    out = sys.stdout.buffer
    rows = size = 0
    truncated = False
    with pa.ipc.new_stream(out, reader.schema) as writer:
        for batch in reader:
            if rows + batch.num_rows > max_rows:
                batch = batch.slice(0, max_rows - rows)
                truncated = True
            room = max_bytes - size
            if batch.num_rows and _nbytes(batch) > room:
                batch = _fit(batch, room)
                truncated = True
            if batch.num_rows:
                writer.write_batch(batch)
                rows += batch.num_rows
                size += _nbytes(batch)
            if truncated:
                break
    out.flush()
    return truncated


def _nbytes(batch: Any) -> int:
    return int(sum(column.nbytes for column in batch.columns))


def _fit(batch: Any, room: int) -> Any:
    """The longest head of the batch within `room` bytes (possibly none)."""
    low, high = 0, batch.num_rows
    while low < high:
        mid = (low + high + 1) // 2
        if _nbytes(batch.slice(0, mid)) <= room:
            low = mid
        else:
            high = mid - 1
    return batch.slice(0, low)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


if __name__ == "__main__":
    sys.exit(main())
