"""`connect-ops restore DIR`: put DIR/records.duckdb (from `connect-ops backup`) back as the people's records.
The app must be stopped; the file it replaces is kept as `<records>.before-restore`."""
from __future__ import annotations

import argparse
from pathlib import Path

from core.mirror.records import RecordsError, restore
from core.mirror.store import StoreError


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("restore", help="restore the people's records from a backup folder",
                            description=__doc__.splitlines()[0])
    p.add_argument("folder", type=Path, help="the folder `connect-ops backup` wrote")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from core.cli.common import mirror_path, records_path

    target = records_path(mirror_path())
    try:
        counts = restore(args.folder, target)
    except (RecordsError, OSError) as exc:
        raise StoreError(str(exc) if isinstance(exc, RecordsError) else f"cannot restore: "
                         f"{getattr(exc, 'strerror', None) or exc}") from None
    print(f"restored {target} from {args.folder}: " + ", ".join(f"{n:,} {t}" for t, n in counts.items()))
    return 0
