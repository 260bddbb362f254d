"""`python -m core.emulator --port PORT [--scale small|medium|large] ...`: serve the demo platform."""
from __future__ import annotations

import argparse
import signal
import sys
import time

from .faults import Faults
from .seed import SCALES, generate
from .server import DEFAULT_API_KEY, Emulator, EmulatorServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m core.emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=12111, help="0 picks a free port")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--anchor", type=int, default=None,
                        help="unix time the demo history ends at (default: today's midnight UTC)")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--per-endpoint-rps", type=float, default=None)
    parser.add_argument("--global-rps", type=float, default=None)
    parser.add_argument("--error-rate", type=float, default=0.0)
    args = parser.parse_args(argv)
    if not (args.api_key.startswith("sk_test_") or args.api_key.startswith("rk_test_")):
        parser.error("--api-key must be a test-mode secret key (sk_test_...)")
    if not 0 <= args.error_rate < 1:
        parser.error("--error-rate must be in [0, 1)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    state = generate(args.seed, args.scale, args.anchor)
    faults = Faults(args.latency_ms, args.per_endpoint_rps, args.global_rps, args.error_rate, args.seed)
    try:
        server = EmulatorServer(Emulator(state, args.api_key, faults), args.port)
    except OSError as exc:
        print(f"emulator: cannot listen on 127.0.0.1:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    print(f"emulator: base_url={server.base_url} api_key={args.api_key} scale={args.scale} seed={args.seed} "
          f"objects={len(state.records)} seeded_in={time.monotonic() - started:.1f}s", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
