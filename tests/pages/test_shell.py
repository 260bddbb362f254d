"""The shell: demo sign-in, pages by role, unroutable pages, freshness, sync now, clear errors."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.auth import Actor, Role
from core.app.navigation import pages_for
from tests.pages.conftest import APP, open_app

EXPECTED = {
    "support": {"overview", "merchants"},
    "risk": {"overview", "merchants", "risk", "explore"},
    "finance": {"overview", "merchants", "revenue", "tax_forms", "explore"},
    "admin": {"overview", "merchants", "risk", "revenue", "tax_forms", "explore", "audit"},
}


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_each_role_gets_exactly_its_pages(role: str) -> None:
    built = {p.key for p in pages_for(Actor(email="a@b.c", role=Role.ADMIN))}
    assert {p.key for p in pages_for(Actor(email="a@b.c", role=Role(role)))} == EXPECTED[role] & built


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_every_page_of_a_role_renders(role: str) -> None:
    at = open_app(role)
    assert not at.exception, at.exception
    for page in pages_for(Actor(email="a@b.c", role=Role(role))):
        at.switch_page(str(page.path.relative_to(Path(APP).parent))).run()
        assert not at.exception, (page.key, at.exception)
        assert not at.error, (page.key, [e.value for e in at.error])


def test_demo_mode_says_so_and_starts_as_admin() -> None:
    at = AppTest.from_file(APP, default_timeout=300).run()
    assert not at.exception
    assert any("Demo data" in info.value for info in at.sidebar.info)
    assert at.selectbox(key="demo_role").value == "admin"


def test_a_page_outside_the_role_cannot_be_opened() -> None:
    at = open_app("support")
    at.switch_page("pages/overview.py").run()
    assert at.title[0].value == "Overview"
    forbidden = [p for p in pages_for(Actor(email="a@b.c", role=Role.ADMIN)) if p.key not in EXPECTED["support"]]
    assert forbidden, "some built page must be out of support's reach for this test to mean anything"
    for page in forbidden:
        try:
            at.switch_page(f"pages/{page.key}.py")
        except ValueError:
            continue  # AppTest itself knows the page is not registered for this session
        at.run()
        assert not at.exception
        assert page.title not in [t.value for t in at.title]
        assert any("do not have access" in e.value for e in at.error) or "Overview" in [t.value for t in at.title]


def test_overview_shows_kpis_and_freshness() -> None:
    at = open_app("finance")
    assert at.title[0].value == "Overview"
    text = " ".join(m.value for m in at.markdown)
    assert "Enabled:" in text and "GMV" in text and "Application-fee revenue" in text
    assert any("ynced" in c.value for c in at.caption), [c.value for c in at.caption]


def test_sync_now_records_a_new_run() -> None:
    at = open_app("admin")
    before = len(at.dataframe[0].value)
    at.button[0].click().run()
    assert not at.exception
    after = at.dataframe[0].value
    assert len(after) == before + 1
    assert after.iloc[0]["status"] == "succeeded" and after.iloc[0]["mode"] == "incremental"


def test_malformed_secrets_is_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text("STRIPE_API_KEY = \n")
    monkeypatch.chdir(tmp_path)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert any("secrets.toml is not valid TOML" in e.value for e in at.error)


def test_publishable_key_is_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", "pk_test_123456789abc")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert any("publishable" in e.value and "STRIPE_API_KEY" in e.value for e in at.error)


def test_unreachable_api_is_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_unreachable123")
    monkeypatch.setenv("STRIPE_API_BASE", "http://127.0.0.1:9")
    monkeypatch.setenv("CONNECT_OPS_DB", str(tmp_path / "unreachable.duckdb"))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert any("Read-only" in w.value for w in at.sidebar.warning)
    at.button[0].click().run()
    assert not at.exception
    assert any("Last sync failed" in w.value and "cannot reach the Stripe API" in w.value for w in at.warning), \
        [w.value for w in at.warning]


def test_locked_database_is_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "locked.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb,sys,time; c=duckdb.connect(sys.argv[1]); "
                               "print('ready', flush=True); time.sleep(60)", str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        monkeypatch.setenv("CONNECT_OPS_DB", str(db))
        at = AppTest.from_file(APP, default_timeout=60).run()
        assert not at.exception
        assert any("locked" in e.value for e in at.error), [e.value for e in at.error]
    finally:
        holder.kill()
