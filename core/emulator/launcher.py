"""Start the emulator as a child process and learn its base URL from the one line it prints.

Used by tests, benchmarks and the app's demo mode; a real process keeps the SDK on real HTTP.
The child's stdin is a pipe only this process holds: when this process dies, even by `kill -9`,
the child sees its end and exits (`--exit-with-parent`), so no emulator outlives its user.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass, field

READY_LINE = re.compile(r"base_url=(?P<base>\S+) api_key=(?P<key>\S+)")
STATE_PART = re.compile(r"state=(?P<state>restored|new) instance=(?P<instance>\w+)")  # with --state-file


class EmulatorStartError(RuntimeError):
    """The emulator process did not come up; the message is one line (its own words are on stderr)."""


@dataclass
class EmulatorProcess:
    base_url: str
    api_key: str
    process: subprocess.Popen = field(repr=False)
    restored: bool = False  # with --state-file: the saved platform was loaded (else seeded afresh)
    instance: str | None = None  # with --state-file: the id of the platform it serves, kept across restarts

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdin is not None:
            self.process.stdin.close()

    def __enter__(self) -> "EmulatorProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_emulator(*args: str, timeout: float = 120.0) -> EmulatorProcess:
    """Run `python -m core.emulator --port 0 ARGS...` and wait for its ready line.

    With the clock pinned (CONNECT_OPS_NOW, core/clock.py) the emulator starts at this process's current
    reading (`--now`), so its history ends today by our clock and both clocks run on together."""
    from core import clock

    pinned = [] if "--now" in args or clock.pinned_text() is None else ["--now", clock.now().isoformat()]
    command = [sys.executable, "-m", "core.emulator", "--port", "0", "--exit-with-parent", *pinned, *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, text=True,
                               env=env)
    assert process.stdout is not None
    line = _read_line(process, timeout)
    match = READY_LINE.search(line)
    if not match:
        process.kill()
        raise EmulatorStartError(f"the local Stripe emulator did not start: {line.strip() or 'see its message above'}")
    state = STATE_PART.search(line)
    return EmulatorProcess(match["base"], match["key"], process, restored=bool(state and state["state"] == "restored"),
                           instance=state["instance"] if state else None)


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    import threading

    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not result:
        process.kill()
        raise EmulatorStartError(f"the local Stripe emulator printed nothing within {timeout:.0f}s")
    return result[0]
