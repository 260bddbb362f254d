"""`connect-ops query "SQL" [--format csv|json]`: the SQL explorer's query on stdout, for scripts.

    connect-ops query "SELECT country, count(*) FROM connected_accounts GROUP BY 1" --format json
    connect-ops query --starter disputes_by_card_country > disputes.csv
    connect-ops query --list-starters

The same guard and worker as the page (core/explore/guard.py: one SELECT over the Stripe mirror's tables,
run in a process of its own on a copy of those tables alone, core/explore/snapshot.py), with the same
time and memory limits and at most --max-rows rows (a note on stderr when there were more). A refused
query exits 2 with the reason; a failed or stopped one exits 1. It reads the mirror at CONNECT_OPS_DB
directly, so it needs the app (the DuckDB writer) stopped, like `connect-ops accounts`; no audit row is
written (whoever can run this can read the file anyway).
"""
from __future__ import annotations

import argparse
import json
import sys

from core.explore.guard import QueryRefused, check
from core.explore.run import MEMORY_MB_RANGE, SECONDS_RANGE, Limits, QueryFailed, execute, explorer_database
from core.explore.starters import BY_KEY, STARTERS
from core.mirror.store import DatabaseLockedError, lock_down

HELP = __doc__.splitlines()[0]


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("query", help="run a read-only SQL query on the mirror (the SQL explorer)",
                            description=HELP)
    p.add_argument("sql", nargs="?", help="one SELECT (WITH ... SELECT, DESCRIBE, EXPLAIN) over the mirror's tables")
    p.add_argument("--starter", choices=[s.key for s in STARTERS], metavar="KEY",
                   help="run a starter query instead (see --list-starters)")
    p.add_argument("--list-starters", action="store_true", help="list the starter queries and exit")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--max-rows", type=int, default=Limits.download_rows,
                   help=f"rows written at most (default {Limits.download_rows:,})")
    p.add_argument("--timeout", type=float, default=Limits.seconds,
                   help=f"seconds before the query is stopped (default {Limits.seconds:g}; "
                        f"{SECONDS_RANGE[0]:g} to {SECONDS_RANGE[1]:g})")
    p.add_argument("--max-mb", type=int, default=Limits.download_bytes // 2**20,
                   help=f"megabytes of result written at most (default {Limits.download_bytes // 2**20})")
    p.add_argument("--memory-mb", type=int, default=Limits.memory_mb,
                   help=f"memory the query may use (default {Limits.memory_mb}; "
                        f"{MEMORY_MB_RANGE[0]} to {MEMORY_MB_RANGE[1]})")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.list_starters:
        for starter in STARTERS:
            print(f"{starter.key:<28} {starter.title}")
        return 0
    if bool(args.sql) == bool(args.starter):
        print("connect-ops query: give the SQL or --starter KEY (one of them)", file=sys.stderr)
        return 2
    try:
        limits = Limits(seconds=args.timeout, shown_rows=max(args.max_rows, 1), download_rows=args.max_rows,
                        download_bytes=args.max_mb * 2**20, memory_mb=args.memory_mb)
    except ValueError as exc:
        print(f"connect-ops query: --timeout, --max-rows, --max-mb or --memory-mb: {exc}", file=sys.stderr)
        return 2
    if not 1 <= args.max_rows <= 10_000_000 or not 1 <= args.max_mb <= 4_096:
        print("connect-ops query: --max-rows must be 1 to 10,000,000 and --max-mb 1 to 4,096", file=sys.stderr)
        return 2
    sql = BY_KEY[args.starter].sql if args.starter else args.sql
    from core.cli.common import mirror_path, open_mirror, write_out

    path = mirror_path()
    try:
        con = open_mirror(path)
    except DatabaseLockedError:
        raise DatabaseLockedError(f"{path} is in use by another Connect Ops process (the app or a sync): use the "
                                  "SQL explorer page instead, or stop it") from None
    try:
        lock_down(con)
        cursor = con.cursor()
        names = {r[0] for r in cursor.execute(
            "SELECT lower(table_name) FROM duckdb_tables() UNION SELECT lower(view_name) FROM duckdb_views()").fetchall()}
        try:
            check(sql, names)  # a refusal needs no copy of the mirror
            result = execute(explorer_database(cursor, str(path)), sql, limits, existing=names)
        except OSError as exc:
            print(f"connect-ops query: cannot write the explorer's copy of the mirror beside {path} "
                  f"({exc.strerror or exc})", file=sys.stderr)
            return 1
        except QueryRefused as exc:
            print(f"connect-ops query: refused: {exc}", file=sys.stderr)
            return 2
        except QueryFailed as exc:
            print(f"connect-ops query: {exc}", file=sys.stderr)
            return 1
        finally:
            cursor.close()
    finally:
        con.close()
    if args.format == "csv":
        text = result.csv()
    else:
        text = json.dumps(result.records(), ensure_ascii=False, indent=1, default=str) + "\n"
    write_out(text)
    note = f"{result.rows:,} rows in {result.seconds:.2f} s"
    if result.truncated:
        note += f"; stopped at --max-rows {args.max_rows:,}: the query has more"
    print(note, file=sys.stderr)
    return 0
