"""`connect-ops accounts`: the Merchants page's accounts list on stdout, as CSV or JSON, for scripts and cron.

    connect-ops accounts --status restricted --country US,CA --failed-payouts --format csv > restricted.csv
    connect-ops accounts --metadata signup_channel=partner --sort volume --period-days 90 --format json

Every account matching the filters (not one page), with the page's columns and, in CSV, one column per
currency in minor units. It reads the mirror at CONNECT_OPS_DB (in demo mode, the demo's mirror:
data/demo.duckdb unless CONNECT_OPS_DB is set), read-only and never creating it; it does not sync.
"""
from __future__ import annotations

import argparse
import json
import sys

from pydantic import ValidationError

from core.account_status import STATUSES
from core.cli.common import mirror_path, open_mirror, words, write_out
from core.support import accounts

HELP = __doc__.splitlines()[0]


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("accounts", help="the connected accounts list (Merchants page) as CSV or JSON",
                            description=HELP, epilog="Lists take several values: --status restricted,in_review "
                            "or --status restricted --status in_review.")
    p.add_argument("--status", action="append", type=words, default=[],
                   help=f"account status: {', '.join(STATUSES)}")
    p.add_argument("--country", action="append", type=words, default=[], help="two-letter country code, e.g. US")
    p.add_argument("--type", action="append", type=words, default=[], help=f"{', '.join(accounts.TYPES)}")
    p.add_argument("--requirements", action="append", type=words, default=[],
                   help=f"most urgent requirements: {', '.join(accounts.REQUIREMENT_STATES)}")
    p.add_argument("--failed-payouts", action="store_true", help="only accounts with a failed payout")
    p.add_argument("--open-disputes", action="store_true", help="only accounts with an open dispute")
    p.add_argument("--negative-balance", action="store_true", help="only accounts below zero in some currency")
    p.add_argument("--metadata", metavar="KEY[=VALUE]", help="metadata KEY equal to VALUE (KEY alone: KEY is set)")
    p.add_argument("--period-days", type=int, choices=accounts.PERIODS, default=30,
                   help="volume over the last N days (default 30)")
    p.add_argument("--sort", choices=list(accounts.SORTS), help="sort column (default: created, newest first)")
    order = p.add_mutually_exclusive_group()
    order.add_argument("--desc", action="store_true", help="descending (the default without --sort)")
    order.add_argument("--asc", action="store_true", help="ascending (the default with --sort)")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.set_defaults(run=run)


def filters_from_args(args: argparse.Namespace) -> accounts.AccountFilters:
    """The same filters the page builds from its widgets; a bad value raises ValueError in one line."""
    flat = {name: tuple(v for values in getattr(args, name) for v in values)
            for name in ("status", "country", "type", "requirements")}
    key, value = None, None
    if args.metadata:
        key, _, value = args.metadata.partition("=")
    descending = args.desc or (not args.asc and args.sort is None)
    try:
        return accounts.AccountFilters(
            **flat, failed_payouts=args.failed_payouts, open_disputes=args.open_disputes,
            negative_balance=args.negative_balance, metadata_key=key, metadata_value=value or None,
            period_days=args.period_days, sort=args.sort or accounts.AccountFilters().sort, descending=descending)
    except ValidationError as exc:
        raise ValueError("; ".join(f"{'--' + str(e['loc'][0]).replace('_', '-') if e.get('loc') else ''}: "
                                   f"{str(e['msg']).removeprefix('Value error, ')}" for e in exc.errors())) from None


def run(args: argparse.Namespace) -> int:
    try:
        filters = filters_from_args(args)
    except ValueError as exc:
        print(f"connect-ops accounts: {exc}", file=sys.stderr)
        return 2
    con = open_mirror(mirror_path())
    try:
        rows = accounts.accounts_rows(con.cursor(), filters)
    finally:
        con.close()
    if args.format == "csv":
        text = accounts.accounts_csv(rows, filters.period_days)
    else:
        text = json.dumps([{**row.model_dump(mode="json"), "balance_text": row.balance_text,
                            "volume_text": row.volume_text, "volume_period_days": filters.period_days}
                           for row in rows], ensure_ascii=False, indent=1) + "\n"
    write_out(text)
    return 0
