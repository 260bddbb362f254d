"""The entry page renders on the demo platform and turns bad settings into a message, not a traceback."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture(autouse=True)
def _small_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    monkeypatch.setenv("CONNECT_OPS_DEMO_SCALE", "small")


def test_demo_mode_starts_the_emulator_and_says_so() -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert any("Demo data" in w.value for w in at.warning)
    assert any("http://127.0.0.1:" in c.value for c in at.caption)


def test_publishable_key_is_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", "pk_test_123456789abc")
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert any("publishable" in e.value and "STRIPE_API_KEY" in e.value for e in at.error)
