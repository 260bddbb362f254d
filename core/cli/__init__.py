"""`connect-ops`: the same core functions the pages use, for scripts and cron.

    connect-ops sync [--full] [--quiet]      one sync into the mirror (when the app is not running)
    connect-ops emulator [--port ...]        the local Stripe emulator (see --help)
    connect-ops accounts [filters] [--format csv|json]   the Merchants page's accounts list
    connect-ops revenue --from D --to D [--by day|week|month] [--format json|csv]   the Revenue page's figures
    connect-ops tax-forms --year YYYY [--format json|csv]  1099 forms per US account (Tax forms page)
    connect-ops risk-queue [--limit N] [--format json|csv]  the Risk queue page's ranked accounts
    connect-ops query "SQL" [--format csv|json]   a read-only query on the mirror (the SQL explorer's guard)
    connect-ops sync --rebuild               the mirror afresh from Stripe (people's records untouched)
    connect-ops backup DIR / restore DIR     the people's records (audit log, notes...), consistently

Every failure is one line on stderr and a non-zero exit: a bad setting names the setting, a locked
database says who holds it, an unreachable API says so. Area exports add a subcommand here.
"""
from __future__ import annotations

import argparse
import importlib
import signal
import sys
from collections.abc import Callable, Sequence

from core.emulator.launcher import EmulatorStartError
from core.mirror.store import StoreError
from core.mirror.sync import one_line
from core.settings import SettingsError
from core.stripe_api import StripeApiError

Command = Callable[[argparse.Namespace], int]


# command -> the module under core/cli that adds its parser; only the command run is imported (the
# exports pull in pandas and friends, half a second of start-up a headless sync should not pay).
COMMANDS = {"sync": "sync", "accounts": "accounts", "tax-forms": "tax", "risk-queue": "risk",
            "revenue": "revenue", "query": "query", "backup": "backup", "restore": "restore"}


class OneLineParser(argparse.ArgumentParser):
    """A bad flag or value is one line and exit 2 (argparse's own error prints its usage block first)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or just `only`'s subcommand when it names one (a run, not a --help)."""
    root = OneLineParser(prog="connect-ops", description=__doc__.splitlines()[0])
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        if only not in COMMANDS or only == name:
            importlib.import_module(f"core.cli.{module}").add_parser(commands)
    emulator = commands.add_parser("emulator", help="serve the local Stripe emulator (demo platform)",
                                   add_help=False)
    emulator.set_defaults(run=_emulator)
    return root


def _emulator(args: argparse.Namespace) -> int:
    from core.emulator.__main__ import main as emulator_main

    return emulator_main(args.rest)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["emulator"]:  # its own parser owns every flag (and --help)
        return _emulator(argparse.Namespace(rest=argv[1:]))
    args = parser(only=argv[0] if argv else None).parse_args(argv)
    signal.signal(signal.SIGTERM, _terminated)  # like Ctrl-C: threads stopped, files closed, then exit
    try:
        return args.run(args)
    except (SettingsError, StoreError, StripeApiError, EmulatorStartError) as exc:
        print(f"connect-ops {args.command}: {one_line(exc)}", file=sys.stderr)
        return 1
    except Terminated:
        print(f"connect-ops {args.command}: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except Exception as exc:  # noqa: BLE001 - a damaged mirror read mid-command (a truncated file): one line
        import duckdb

        if not isinstance(exc, duckdb.Error):
            raise
        print(f"connect-ops {args.command}: the mirror could not be read ({one_line(exc)}); rebuild it with "
              "`connect-ops sync --rebuild` (people's records are kept apart and left untouched)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"connect-ops {args.command}: interrupted", file=sys.stderr)
        return 130


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so the same clean-up as Ctrl-C's runs."""


def _terminated(_signum: int, _frame: object) -> None:
    raise Terminated


if __name__ == "__main__":
    sys.exit(main())
