"""`connect-ops risk-queue`: the Risk queue page's ranked accounts on stdout, as JSON or CSV, for scripts and cron.

    connect-ops risk-queue --limit 20                    # the 20 highest scores, JSON
    connect-ops risk-queue --signal dispute_activity --format csv > disputes.csv

JSON is an array ordered by score, highest first; each element has `account`, `score`, `reasons` (sentences
with their numbers), `review_state`, the signals that fired (`signals`: points and value) and the numbers
behind every signal (`values`). Same filters and code as the page (core/risk/queue.py): by default the open
reviews (new, in review) that are material cases (`--lane watch` lists the rest, `--lane rejected` the
rejected accounts). It reads the mirror at CONNECT_OPS_DB read-only (in demo
mode, the demo's mirror) and does not sync.
"""
from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError

from core.cli.common import mirror_path, open_mirror, words, write_out
from core.risk import review
from core.risk.queue import LANES, TYPES, QueueFilters, queue, queue_csv, queue_json
from core.risk.score import SIGNALS

HELP = __doc__.splitlines()[0]


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("risk-queue", help="the risk queue, highest score first, as JSON or CSV",
                            description=HELP, epilog="Lists take several values: --signal refund_rate,volume_spike.")
    p.add_argument("--limit", type=int, default=None, help="at most N accounts (default: all that match)")
    p.add_argument("--format", choices=("json", "csv"), default="json")
    p.add_argument("--signal", action="append", type=words, default=[], help=f"any of: {', '.join(SIGNALS)}")
    p.add_argument("--country", action="append", type=words, default=[], help="two-letter country code, e.g. US")
    p.add_argument("--type", action="append", type=words, default=[], help=f"{', '.join(TYPES)}")
    p.add_argument("--review-state", action="append", type=words, default=[],
                   help=f"{', '.join(review.STATES)} (default: new,in_review); 'all' for every state")
    p.add_argument("--assignee", action="append", type=words, default=[], help="email of whoever reviews it")
    p.add_argument("--min-score", type=int, default=1, help="lowest score listed (default 1: something fires)")
    p.add_argument("--lane", action="append", type=words, default=[],
                   help="case (material, the default), watch, rejected; 'all' for every lane")
    p.set_defaults(run=run)


def filters_from_args(args: argparse.Namespace) -> QueueFilters:
    """The page's filters from the flags; a bad value raises ValueError in one line."""
    flat = {name: tuple(v for values in getattr(args, name) for v in values)
            for name in ("signal", "country", "type", "review_state", "assignee", "lane")}
    unknown = [s for s in flat["signal"] if s not in SIGNALS] + [t for t in flat["type"] if t not in TYPES] + \
        [s for s in flat["review_state"] if s not in (*review.STATES, "all")] + \
        [s for s in flat["lane"] if s not in (*LANES, "all")]
    if unknown:
        raise ValueError(f"unknown value {', '.join(unknown)}: see --help")
    if args.limit is not None and args.limit < 1:
        raise ValueError("--limit must be at least 1")
    states = flat["review_state"] or review.OPEN_STATES
    try:
        return QueueFilters(signals=flat["signal"], country=tuple(c.upper() for c in flat["country"]),
                            type=flat["type"], review_states=() if "all" in states else states,
                            assignees=flat["assignee"], min_score=args.min_score,
                            lanes=() if "all" in flat["lane"] else (flat["lane"] or ("case",)))
    except ValidationError as exc:
        raise ValueError("; ".join(str(e["msg"]) for e in exc.errors())) from None


def run(args: argparse.Namespace) -> int:
    try:
        filters = filters_from_args(args)
    except ValueError as exc:
        print(f"connect-ops risk-queue: {exc}", file=sys.stderr)
        return 2
    con = open_mirror(mirror_path())
    try:
        rows = queue(con.cursor(), filters, limit=args.limit).rows
    finally:
        con.close()
    text = queue_json(rows) if args.format == "json" else queue_csv(rows)
    write_out(text)
    return 0
