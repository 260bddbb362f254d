"""`connect-ops revenue`: the Revenue page's figures for a period, per currency, as JSON or CSV.

    connect-ops revenue --from 2025-01-01 --to 2025-01-31 --by week --format json
    connect-ops revenue --from 2025-01-01 --to 2025-03-31 --by month --format csv > q1.csv
    connect-ops revenue --from 2025-01-01 --to 2025-01-31 --dated event   # refunds on the day they happened

Dates are inclusive, in UTC; a charge counts on the day it was created, an application fee on the day it
was created (definitions: core/revenue/definitions.py). Amounts are integers in minor units of their own
currency, never added across currencies. It reads the mirror at CONNECT_OPS_DB (the demo's in demo mode),
read-only, with the same code as the page; it does not sync.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

import duckdb
from pydantic import ValidationError

from core.cli.common import mirror_path, open_mirror, write_out
from core.revenue import queries
from core.revenue.dating import DATINGS

HELP = __doc__.splitlines()[0]


def _day(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
    if not queries.EARLIEST <= day <= queries.LATEST:
        raise argparse.ArgumentTypeError(f"{text} is out of range: dates run from {queries.EARLIEST} to "
                                         f"{queries.LATEST}")
    return day


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("revenue", help="GMV, revenue and take rate per currency for a period (JSON or CSV)",
                            description=HELP)
    p.add_argument("--from", dest="start", type=_day, required=True, metavar="YYYY-MM-DD", help="first day (UTC)")
    p.add_argument("--to", dest="end", type=_day, required=True, metavar="YYYY-MM-DD", help="last day (UTC), included")
    p.add_argument("--by", choices=queries.GRAINS, default="day", help="the series' grain (default: day)")
    p.add_argument("--format", choices=("json", "csv"), default="json")
    p.add_argument("--dated", choices=DATINGS, default="charge",
                   help="charge: refunds, reversals and disputes count on their charge's day (Stripe's margin "
                        "reports); event: on the day they happened, so a closed month stays closed")
    p.set_defaults(run=run)


def open_reading(path: Path) -> duckdb.DuckDBPyConnection:
    """The mirror read-only (checked as `connect-ops accounts` checks it), attached to an in-memory database
    so the revenue cache has somewhere to live while the command runs."""
    open_mirror(path).close()  # a missing, locked or foreign file is one line
    con = duckdb.connect()
    con.execute("ATTACH ? AS mirror (READ_ONLY)", [str(path)])
    con.execute("USE mirror")
    return con


def run(args: argparse.Namespace) -> int:
    if args.end < args.start:
        print(f"connect-ops revenue: --to ({args.end}) is before --from ({args.start})", file=sys.stderr)
        return 2
    try:
        queries.Period(start=args.start, end=args.end)
    except ValidationError as exc:
        reason = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        print(f"connect-ops revenue: {reason}", file=sys.stderr)
        return 2
    con = open_reading(mirror_path())
    try:
        data = queries.report(con, args.start, args.end, args.by, args.dated)
    finally:
        con.close()
    text = json.dumps(data, indent=1) + "\n" if args.format == "json" else queries.report_csv(data)
    write_out(text)
    return 0
