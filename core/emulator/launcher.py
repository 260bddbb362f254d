"""Start the emulator as a child process and learn its base URL from the one line it prints.

Used by tests, benchmarks and the app's demo mode; a real process keeps the SDK on real HTTP.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass, field

READY_LINE = re.compile(r"base_url=(?P<base>\S+) api_key=(?P<key>\S+)")


@dataclass
class EmulatorProcess:
    base_url: str
    api_key: str
    process: subprocess.Popen = field(repr=False)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> "EmulatorProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_emulator(*args: str, timeout: float = 120.0) -> EmulatorProcess:
    """Run `python -m core.emulator --port 0 ARGS...` and wait for its ready line."""
    command = [sys.executable, "-m", "core.emulator", "--port", "0", *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=None, text=True, env=env)
    assert process.stdout is not None
    line = _read_line(process, timeout)
    match = READY_LINE.search(line)
    if not match:
        process.kill()
        raise RuntimeError(f"emulator did not start: {line.strip() or 'no output'}")
    return EmulatorProcess(match["base"], match["key"], process)


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    import threading

    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not result:
        process.kill()
        raise RuntimeError(f"emulator printed nothing within {timeout:.0f}s")
    return result[0]
