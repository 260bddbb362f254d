"""Every process exits 0 after success (issue 18): every `connect-ops` command, and the app in AppTest.

A DuckDB call still running in a thread when the interpreter exits (the app's background sync, a query)
used to abort the process after its correct output: "terminate called after throwing an instance of ''",
"FATAL: exception not rethrown", exit 134. So each command runs in a loop in its own process, and the app
renders its pages in a fresh process (a first sync under way when it exits) in a loop.

`make test` runs each command twice and the app once (seconds count there); CONNECT_OPS_EXIT_LOOPS=30,10 runs the issue's
loops (each command 30 times, the app 10 times).
"""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from core import clock

ROOT = Path(__file__).resolve().parents[1]
ABORTED = ("terminate called", "FATAL: exception not rethrown")


def loops() -> tuple[int, int]:
    """(runs per command, app runs): CONNECT_OPS_EXIT_LOOPS="CLI,APP", default 2,1."""
    text = os.environ.get("CONNECT_OPS_EXIT_LOOPS", "2,1")
    try:
        cli, app = (int(part) for part in text.split(","))
    except ValueError:
        raise pytest.UsageError(f"CONNECT_OPS_EXIT_LOOPS must be two counts such as 30,10, not {text!r}") from None
    return max(1, cli), max(1, app)


def demo_env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("STRIPE_API_KEY", "STRIPE_API_BASE")}
    env.update(CONNECT_OPS_DEMO_SCALE="small", CONNECT_OPS_DEMO_SEED="1", CONNECT_OPS_DB=str(folder / "demo.duckdb"),
               PYTHONUNBUFFERED="1")
    return env


def run(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def failure(result: subprocess.CompletedProcess[str], what: str) -> str | None:
    """None for a clean exit; else what went wrong, in one line."""
    aborted = [line for line in result.stderr.splitlines() if line.startswith(ABORTED)]
    if result.returncode == 0 and not aborted:
        return None
    last = (aborted or result.stderr.strip().splitlines() or ["(nothing on stderr)"])[-1]
    return f"{what}: exit {result.returncode}: {last}"


@pytest.fixture(scope="module")
def demo_mirror(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A demo mirror filled by `connect-ops sync` (the emulator keeps its platform beside it)."""
    env = demo_env(tmp_path_factory.mktemp("exit"))
    result = run(["-m", "core.cli", "sync", "--quiet"], env)
    assert failure(result, "first sync") is None, result.stderr
    return env


def commands() -> dict[str, list[str]]:
    today = clock.today()
    return {
        "sync": ["sync", "--quiet"],
        "accounts": ["accounts", "--format", "json"],
        "revenue": ["revenue", "--from", str(today - timedelta(days=90)), "--to", str(today), "--by", "month"],
        "tax-forms": ["tax-forms", "--year", str(today.year - 1)],
        "risk-queue": ["risk-queue", "--limit", "20"],
        "query": ["query", "SELECT country, count(*) AS n FROM connected_accounts GROUP BY 1 ORDER BY 2 DESC"],
    }


@pytest.mark.timeout(120 + 60 * loops()[0])  # the 30 runs take minutes on a busy machine
@pytest.mark.parametrize("name", list(commands()))
def test_every_command_exits_0_every_time(demo_mirror: dict[str, str], name: str) -> None:
    runs = loops()[0]
    failures = [f for i in range(runs)
                if (f := failure(run(["-m", "core.cli", *commands()[name]], demo_mirror), f"run {i + 1}"))]
    assert not failures, f"connect-ops {name}: {len(failures)} of {runs} runs failed: {failures}"


APP_SCRIPT = """
import os, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(os.path.join(os.getcwd(), "app.py"), default_timeout=300)
at.session_state["actor_role"] = "admin"
at.run()
for page in ("merchants", "revenue", "tax_forms", "explore"):
    at.switch_page(f"pages/{page}.py").run()
    if at.exception:
        sys.exit(f"{page}: {at.exception}")
print("rendered")
"""


@pytest.mark.timeout(120 + 120 * loops()[1])
def test_the_app_in_apptest_exits_0_every_time(tmp_path: Path) -> None:
    """A new user's run: pages render while the first sync loads, then the process ends mid-sync."""
    runs = loops()[1]
    failures = []
    for i in range(runs):
        result = run(["-c", APP_SCRIPT], demo_env(tmp_path / f"run{i}"))
        if (f := failure(result, f"run {i + 1}")) or "rendered" not in result.stdout:
            failures.append(f or f"run {i + 1}: no page rendered: {result.stderr.strip()[-300:]}")
    assert not failures, f"{len(failures)} of {runs} AppTest runs failed: {failures}"
