"""`connect-ops`: the console script exists, and every bad setting is one line naming it, exit 1."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "core.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def test_the_console_script_is_installed_and_lists_its_commands() -> None:
    script = shutil.which("connect-ops", path=str(Path(sys.executable).parent))
    assert script is not None, "pyproject's [project.scripts] connect-ops is not installed in the venv"
    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "sync" in result.stdout and "emulator" in result.stdout


def test_help_lists_every_command() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("sync", "accounts", "tax-forms", "risk-queue", "revenue", "query", "backup", "restore", "emulator"):
        assert command in result.stdout, command


def test_a_sync_imports_no_export_machinery() -> None:
    """A headless sync starts in well under a second: it must not pay for the exports' pandas."""
    code = ("import sys; from core.cli import parser; parser(only='sync').parse_args(['sync']); "
            "print(sorted(m for m in ('pandas', 'pyarrow', 'plotly', 'streamlit') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_emulator_subcommand_has_its_own_flags() -> None:
    result = run("emulator", "--help")
    assert result.returncode == 0 and "--clock-offset" in result.stdout and "--drop-rate" in result.stdout


@pytest.mark.parametrize("name, value, words", [
    ("CONNECT_OPS_DB", "/proc/forbidden/x.duckdb", "cannot create its folder"),
    ("CONNECT_OPS_DB", "/etc/hostname", "cannot open it as a DuckDB database"),
    ("CONNECT_OPS_DB", "/tmp", "is a folder"),
    ("CONNECT_OPS_MAX_RPS", "fast", "valid number"),
    ("CONNECT_OPS_SYNC_INTERVAL_MINUTES", "-1", "greater than 0"),
    # Issue 19: 1e12 was accepted and every page header then raised (timedelta overflow); inf and nan likewise.
    ("CONNECT_OPS_SYNC_INTERVAL_MINUTES", "1e12", "less than or equal to 10080"),
    ("CONNECT_OPS_SYNC_INTERVAL_MINUTES", "nan", "finite"),
    ("CONNECT_OPS_SYNC_INTERVAL_MINUTES", "inf", "finite"),
    ("CONNECT_OPS_MAX_RPS", "inf", "finite"),
    ("CONNECT_OPS_MAX_RPS_PER_ENDPOINT", "1e300", "less than or equal"),
    ("CONNECT_OPS_DEMO_SEED", "-5", "greater than or equal to 0"),
    ("CONNECT_OPS_DEMO_SCALE", "huge", "'small', 'medium' or 'large'"),
    ("STRIPE_API_BASE", "ftp://example", "http(s) URL"),
    ("STRIPE_API_KEY", "pk_test_123456789", "publishable"),
])
def test_a_bad_setting_is_one_line_naming_it(name: str, value: str, words: str, tmp_path: Path) -> None:
    env = {"CONNECT_OPS_DB": str(tmp_path / "x.duckdb"), name: value}
    result = run("sync", env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert name in lines[0] and words in lines[0], lines[0]


def test_python_dash_m_core_sync_still_works_and_says_the_same() -> None:
    result = subprocess.run([sys.executable, "-m", "core.sync", "--quiet"], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "CONNECT_OPS_DB": "/proc/forbidden/x.duckdb"}, timeout=120)
    assert result.returncode == 1 and "CONNECT_OPS_DB" in result.stderr and "Traceback" not in result.stderr
