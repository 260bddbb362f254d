"""Seconds from `streamlit run app.py` to a useful Overview in Chromium: a cold start, then restarts.

    .venv/bin/python benchmarks/first_page.py                      # the default demo scale (small)
    .venv/bin/python benchmarks/first_page.py --restarts 3 --scale medium

Runs the app headless on a free port in demo mode (no STRIPE_API_KEY), in a temporary folder whose
mirror (CONNECT_OPS_DB) and emulator state file are its own: it never touches the user's data or
secrets. Drives Debian's Chromium (playwright, never a downloaded browser) to the app's URL. For each
start it prints, from the moment the process is started:

- overview: the Overview's title is shown (figures may still say "No data yet" or be partial);
- numbers:  the accounts-by-status figures are on the page (real numbers, possibly partial);
- complete: the same, with the first-sync notice gone (every figure complete).

Cold is a fresh data folder; each restart stops the app (SIGTERM, as Ctrl-C) and starts it again on
the same folder. Asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOADING = "Loading the platform from"
NUMBERS = "Enabled:"  # a row of "Connected accounts by status": only rendered when there is data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(home: Path, port: int, scale: str | None) -> subprocess.Popen:
    env = {**os.environ, "CONNECT_OPS_DB": str(home / "demo.duckdb"), "PYTHONPATH": str(ROOT)}
    env.pop("STRIPE_API_KEY", None)
    if scale:
        env["CONNECT_OPS_DEMO_SCALE"] = scale
    with open(home / "streamlit.log", "a") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
             "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.address", "127.0.0.1",
             "--server.fileWatcherType", "none", "--server.runOnSave", "false"],
            cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop_app(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def measure(browser, home: Path, scale: str | None, timeout: float) -> dict[str, float]:
    """Start the app, open it in a fresh browser context, and time the three milestones."""
    from playwright.sync_api import Error as PlaywrightError

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    started = time.monotonic()
    process = start_app(home, port, scale)
    marks: dict[str, float] = {}
    context = browser.new_context()
    page = context.new_page()
    try:
        deadline = started + timeout
        while True:  # the server is not listening yet at first
            try:
                page.goto(url, timeout=5_000)
                break
            except PlaywrightError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"the app did not answer at {url}: see {home / 'streamlit.log'}")
                time.sleep(0.05)

        def remaining() -> int:
            return max(1, int((deadline - time.monotonic()) * 1000))

        page.get_by_role("heading", name="Overview").wait_for(timeout=remaining())
        marks["overview"] = time.monotonic() - started
        page.get_by_text(NUMBERS).first.wait_for(timeout=remaining())
        marks["numbers"] = time.monotonic() - started
        page.get_by_text(LOADING).wait_for(state="detached", timeout=remaining())
        page.get_by_text(NUMBERS).first.wait_for(timeout=remaining())
        marks["complete"] = time.monotonic() - started
    finally:
        context.close()
        stop_app(process)
    return marks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=["small", "medium", "large"], default=None,
                        help="CONNECT_OPS_DEMO_SCALE (default: the app's default)")
    parser.add_argument("--restarts", type=int, default=1, help="restarts measured after the cold start")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per start")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"needs Debian's chromium at {CHROMIUM}", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    home = Path(tempfile.mkdtemp(prefix="connect-ops-first-page-"))
    (home / ".streamlit").mkdir()
    shutil.copy(ROOT / ".streamlit" / "config.toml", home / ".streamlit" / "config.toml")  # never secrets
    print(f"data folder {home} (scale {args.scale or 'default'}); seconds from process start")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                for i in range(1 + args.restarts):
                    marks = measure(browser, home, args.scale, args.timeout)
                    name = "cold" if i == 0 else f"restart {i}"
                    print(f"{name:<10} overview {marks['overview']:6.1f} s   numbers {marks['numbers']:6.1f} s   "
                          f"complete {marks['complete']:6.1f} s", flush=True)
            finally:
                browser.close()
    finally:
        if args.keep:
            print(f"kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
