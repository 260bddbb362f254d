"""`connect-ops query "SQL" [--format csv|json]`: the SQL explorer's query on stdout, for scripts.

    connect-ops query "SELECT country, count(*) FROM connected_accounts GROUP BY 1" --format json
    connect-ops query --starter disputes_by_card_country > disputes.csv
    connect-ops query --list-starters

The same guard as the page (core/explore/guard.py: one SELECT over the Stripe mirror's tables), on the
mirror at CONNECT_OPS_DB opened read-only and locked down (no files, no network, no SET), with the same
time limit and at most --max-rows rows (a note on stderr when there were more). A refused query exits 2
with the reason; a failed or stopped one exits 1. It reads the file directly, so it needs the app (the
DuckDB writer) stopped, like `connect-ops accounts`; no audit row is written (the file is opened
read-only; whoever can run this can read the file anyway).
"""
from __future__ import annotations

import argparse
import json
import sys

from core.explore.guard import QueryRefused
from core.explore.run import Limits, QueryFailed, execute
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
                   help=f"seconds before the query is stopped (default {Limits.seconds:g})")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.list_starters:
        for starter in STARTERS:
            print(f"{starter.key:<28} {starter.title}")
        return 0
    if bool(args.sql) == bool(args.starter):
        print("connect-ops query: give the SQL or --starter KEY (one of them)", file=sys.stderr)
        return 2
    if args.max_rows < 1 or args.timeout <= 0:
        print("connect-ops query: --max-rows and --timeout must be positive", file=sys.stderr)
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
        limits = Limits(seconds=args.timeout, shown_rows=args.max_rows, download_rows=args.max_rows,
                        download_bytes=2**62)
        cursor = con.cursor()
        try:
            result = execute(cursor, sql, limits)
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
