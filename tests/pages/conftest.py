"""Page tests share one demo runtime per process: the small emulator, synced once into a temp DuckDB.

The app never waits for its first sync (pages show what is loaded so far); these tests want complete
data, so `open_app` waits once for the runtime's first sync to finish before the first page runs.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
DEMO_ENV = {"CONNECT_OPS_DEMO_SCALE": "small", "CONNECT_OPS_DEMO_SEED": "1"}


@pytest.fixture(scope="session", autouse=True)
def demo_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Demo settings for every page test (no key, small scale, a DuckDB file of the session's own)."""
    db = tmp_path_factory.mktemp("pages") / "connect_ops.duckdb"
    saved = {k: os.environ.get(k) for k in (*DEMO_ENV, "CONNECT_OPS_DB", "STRIPE_API_KEY", "STRIPE_API_BASE")}
    os.environ.update(DEMO_ENV, CONNECT_OPS_DB=str(db))
    os.environ.pop("STRIPE_API_KEY", None)
    os.environ.pop("STRIPE_API_BASE", None)
    yield db
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def wait_for_first_sync(timeout: float = 300) -> None:
    """Start the session's demo runtime if need be and wait until its first sync has succeeded."""
    from core.app.st_runtime import get_runtime

    get_runtime().wait_for_first_sync(timeout)


def open_app(role: str = "admin", timeout: float = 300) -> AppTest:
    """The app as the demo user in `role`, with the demo platform completely loaded."""
    wait_for_first_sync(timeout)
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.session_state["actor_role"] = role  # what the sidebar's role switcher remembers
    return at.run()
