"""The whole app once, as a person uses it: `streamlit run`, a real OIDC sign-in, Chromium, Sync now.

Needs Debian's chromium (`.ci/run` installs it); skipped with a reason when it is absent.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import expect

expect.set_options(timeout=180_000)  # the first load backfills the demo platform

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def oidc_server() -> Iterator[str]:
    import oidc_provider_mock

    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def app_url(oidc_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`streamlit run app.py` in a folder whose secrets configure OIDC sign-in and roles."""
    home = tmp_path_factory.mktemp("e2e")
    port = _free_port()
    (home / ".streamlit").mkdir()
    (home / ".streamlit" / "secrets.toml").write_text(
        "[auth]\n"
        f'redirect_uri = "http://localhost:{port}/oauth2callback"\n'
        'cookie_secret = "e2e-cookie-secret-not-for-production"\n'
        'client_id = "connect-ops"\nclient_secret = "connect-ops-secret"\n'
        f'server_metadata_url = "{oidc_server}/.well-known/openid-configuration"\n'
        "[roles]\n"
        'admin = ["ada@example.com"]\nrisk = ["rita@example.com"]\nfinance = ["fin@example.com"]\n'
    )
    env = {**os.environ, "CONNECT_OPS_DB": str(home / "connect_ops.duckdb"), "CONNECT_OPS_DEMO_SCALE": "small",
           "PYTHONPATH": str(ROOT)}
    env.pop("STRIPE_API_KEY", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.address", "localhost",
         "--server.fileWatcherType", "none", "--server.runOnSave", "false"],
        cwd=home, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise RuntimeError("streamlit did not start")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def _sign_in(browser, app_url: str, oidc_server: str, email: str, name: str):
    assert httpx.put(f"{oidc_server}/users/{quote(email)}", json={"email": email, "name": name}).status_code == 204
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(180_000)
    page.goto(app_url)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_placeholder("sub").fill(email)
    page.get_by_role("button", name="Authorize").click()
    return context, page


def test_admin_sees_the_audit_log(browser, app_url: str, oidc_server: str) -> None:
    context, page = _sign_in(browser, app_url, oidc_server, "ada@example.com", "Ada Admin")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav).to_contain_text("Audit log")
    page.goto(f"{app_url}/audit")
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    context.close()


def test_sign_in_land_on_role_pages_and_sync(browser, app_url: str, oidc_server: str, tmp_path: Path) -> None:
    context, page = _sign_in(browser, app_url, oidc_server, "rita@example.com", "Rita Risk")

    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar).to_contain_text("Rita Risk")
    expect(sidebar).to_contain_text("risk")
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav).to_contain_text("Merchants")
    expect(nav).not_to_contain_text("Audit log")
    page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)

    expect(page.get_by_text("Last sync: run #1 · full · succeeded")).to_be_visible()
    page.get_by_role("button", name="Sync now").click()
    expect(page.get_by_text("Last sync: run #2 · incremental · succeeded")).to_be_visible()
    expect(page.get_by_text("Synced just now")).to_be_visible()
    page.screenshot(path=str(ROOT / "tests" / "e2e" / "last_run.png"), full_page=True)

    page.goto(f"{app_url}/audit")  # an admin page, typed straight into the address bar
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_role("heading", name="Audit log")).to_have_count(0)
    context.close()


def test_unknown_email_gets_no_access(browser, app_url: str, oidc_server: str) -> None:
    context, page = _sign_in(browser, app_url, oidc_server, "stranger@example.com", "Stranger")
    expect(page.get_by_role("heading", name="No access")).to_be_visible()
    expect(page.get_by_text("stranger@example.com")).to_be_visible()
    context.close()


def test_merchants_list_and_hostile_names_stay_text_in_a_real_browser(browser, app_url: str, oidc_server: str) -> None:
    """The demo seeds merchants named like a phishing link and a tracking image: in Chromium they must
    be shown as text, with no link to or request for their hosts (AppTest cannot see the rendered DOM)."""
    context, page = _sign_in(browser, app_url, oidc_server, "ada@example.com", "Ada Admin")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    page.goto(f"{app_url}/merchants")
    expect(page.get_by_role("heading", name="Merchants")).to_be_visible()
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()  # the accounts list, before any search
    page.get_by_placeholder("acct_", exact=False).fill("Verify your account")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Verify your account", exact=False).first).to_be_visible()
    page.get_by_role("button", name="Open").first.click()
    expect(page.get_by_text("Verify your account", exact=False).first).to_be_visible()
    links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    images = page.eval_on_selector_all("img[src]", "els => els.map(e => e.src)")
    assert not [h for h in links if "phish.example" in h or "tracker.example" in h], links
    assert not [s for s in images if "tracker.example" in s], images
    assert not [u for u in requested if "phish.example" in u or "tracker.example" in u], requested
    context.close()
