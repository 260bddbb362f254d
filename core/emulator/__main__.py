"""`python -m core.emulator --port PORT [--scale small|medium|large] ...`: serve the demo platform."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time

from core.clock import PIN_VARIABLE, ClockError, parse_instant

from .faults import Faults
from .persist import StateFile, StateFileError
from .seed import SCALES, generate, scale_of, shape_name
from .server import DEFAULT_API_KEY, Emulator, EmulatorServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m core.emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=12111, help="0 picks a free port")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--accounts", type=int, default=None,
                        help="instead of --scale: this many connected accounts (benchmarks size platforms this way)")
    parser.add_argument("--charges-per-account", default="10-200", metavar="LO-HI",
                        help="with --accounts: charges per account, drawn uniformly from LO..HI (or exactly N)")
    parser.add_argument("--anchor", type=int, default=None,
                        help="unix time the demo history ends at (default: today's midnight UTC)")
    parser.add_argument("--now", default=os.environ.get(PIN_VARIABLE) or None, metavar="ISO",
                        help="the emulator's clock starts at this instant (UTC, e.g. 2027-01-01T00:00:30Z) and runs on "
                             "in real time; the default history ends that day (default: CONNECT_OPS_NOW if set, "
                             "else this machine's clock)")
    parser.add_argument("--platform-currency", choices=("usd", "eur", "gbp", "cad", "jpy"), default="usd",
                        help="the platform account's default_currency, what its balance settles in (default: usd)")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--per-endpoint-rps", type=float, default=None)
    parser.add_argument("--global-rps", type=float, default=None)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--drop-rate", type=float, default=0.0,
                        help="share of requests answered by closing the connection (after acting on them)")
    parser.add_argument("--clock-offset", type=float, default=0.0,
                        help="seconds the emulator's clock (objects' times, the Date header) runs ahead of this "
                             "machine's (of --now's, when given)")
    parser.add_argument("--state-file", default=None, metavar="PATH",
                        help="keep the state across restarts: loaded at start when it fits seed and scale, "
                             "saved after every write before it is answered (core/emulator/persist.py)")
    parser.add_argument("--exit-with-parent", action="store_true",
                        help="exit when stdin reaches its end (the launcher's pipe closes when its process dies)")
    args = parser.parse_args(argv)
    if not (args.api_key.startswith("sk_test_") or args.api_key.startswith("rk_test_")):
        parser.error("--api-key must be a test-mode secret key (sk_test_...)")
    if not 0 <= args.error_rate < 1:
        parser.error("--error-rate must be in [0, 1)")
    if not 0 <= args.drop_rate < 1:
        parser.error("--drop-rate must be in [0, 1)")
    if args.now:  # a pinned start is an offset from this machine's clock, added to any --clock-offset
        try:
            args.clock_offset += parse_instant(args.now).timestamp() - time.time()
        except ClockError as exc:
            parser.error(f"--now: {str(exc).removeprefix(PIN_VARIABLE + ' ')}")
    if args.accounts is not None:  # a shape is a scale name of its own ("500x10-200"), seed.scale_of reads it
        fewest, _, most = args.charges_per_account.partition("-")
        try:
            args.scale = shape_name(args.accounts, int(fewest), int(most or fewest))
            scale_of(args.scale)
        except ValueError as exc:
            parser.error(f"--accounts/--charges-per-account: {exc}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    persist = None
    if args.exit_with_parent:
        threading.Thread(target=_exit_when_stdin_closes, name="parent-watch", daemon=True).start()
    if args.state_file:
        persist = StateFile(args.state_file, args.seed, args.scale, args.anchor, args.clock_offset)
        try:
            state = persist.open(lambda anchor: generate(args.seed, args.scale, anchor, args.clock_offset,
                                                         args.platform_currency))
        except (StateFileError, OSError) as exc:
            print(f"emulator: --state-file {args.state_file}: {exc}", file=sys.stderr)
            return 1
    else:
        state = generate(args.seed, args.scale, args.anchor, args.clock_offset, args.platform_currency)
    faults = Faults(args.latency_ms, args.per_endpoint_rps, args.global_rps, args.error_rate, args.seed,
                    drop_rate=args.drop_rate)
    try:
        emulator = Emulator(state, args.api_key, faults)
        emulator.persist = persist
        server = EmulatorServer(emulator, args.port)
    except OSError as exc:
        print(f"emulator: cannot listen on 127.0.0.1:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    print(f"emulator: base_url={server.base_url} api_key={args.api_key} scale={args.scale} seed={args.seed} "
          f"objects={len(state.records)} seeded_in={time.monotonic() - started:.1f}s"
          f"{' ' + persist.describe() if persist else ''}", flush=True)
    if persist and not persist.restored:
        print(f"emulator: {args.state_file}: seeded afresh ({persist.reason})", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _exit_when_stdin_closes() -> None:
    """The launcher holds our stdin's write end: its end means the launching process is gone."""
    try:
        while os.read(0, 4096):  # the raw descriptor: a buffered reader's lock would stall shutdown
            pass
    except OSError:
        pass
    os.kill(os.getpid(), signal.SIGTERM)


if __name__ == "__main__":
    sys.exit(main())
