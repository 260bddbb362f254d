"""`connect-ops backup DIR`: a consistent copy of the people's records (audit log, notes, reviews, overrides,
saved queries) in DIR/records.duckdb, while the app runs or not. The previous backup there is replaced only
by a complete, readable one (core/mirror/records.py)."""
from __future__ import annotations

import argparse
from pathlib import Path

from core.mirror.records import RecordsError, backup
from core.mirror.store import StoreError


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("backup", help="copy the people's records (audit log, notes...) to a folder",
                            description=__doc__.splitlines()[0])
    p.add_argument("folder", type=Path, help="where records.duckdb is written")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from core.cli.common import mirror_path, records_path

    try:
        counts = backup(records_path(mirror_path()), args.folder)
    except (RecordsError, OSError) as exc:
        raise StoreError(str(exc) if isinstance(exc, RecordsError) else f"cannot write {args.folder}: "
                         f"{getattr(exc, 'strerror', None) or exc}") from None
    print(f"backed up to {args.folder / 'records.duckdb'}: "
          + ", ".join(f"{n:,} {t}" for t, n in counts.items()))
    return 0
