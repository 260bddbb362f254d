"""Connect Ops shell: configuration, sign-in, freshness header and navigation by role."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import streamlit as st

from core.auth import Actor, Role, allowed, role_for_email
from core.freshness import freshness
from core.settings import Settings, SettingsError, load_settings
from core.st_runtime import get_runtime, sync_with_progress
from core.store import StoreError

PAGES_DIR = Path(__file__).resolve().parent / "pages"
DEMO_USER = "demo@connect-ops.local"


class PageSpec(NamedTuple):
    key: str
    title: str
    icon: str
    section: str


PAGES = (
    PageSpec("overview", "Overview", ":material/dashboard:", "Connect Ops"),
    PageSpec("merchants", "Merchants", ":material/storefront:", "Support"),
    PageSpec("risk", "Risk queue", ":material/policy:", "Risk"),
    PageSpec("revenue", "Revenue", ":material/payments:", "Finance"),
    PageSpec("tax_forms", "Tax forms", ":material/description:", "Finance"),
    PageSpec("audit", "Audit log", ":material/history:", "Admin"),
)


def fail(message: str) -> None:
    st.error(message, icon=":material/error:")
    st.stop()


def settings_or_stop() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(f"Connect Ops cannot start: {exc}. Fix the environment or `.streamlit/secrets.toml`, then reload.")
    raise AssertionError  # unreachable: fail() stops the script


def current_actor(settings: Settings) -> Actor:
    """Who is here: the OIDC user when [auth] is configured, else the local demo or read-only user."""
    if settings.sign_in_configured:
        if not st.user.is_logged_in:
            st.title("Connect Ops")
            st.write("Sign in with your company account to continue.")
            st.button("Sign in", type="primary", on_click=st.login, icon=":material/login:")
            st.stop()
        email = str(st.user.get("email") or "")
        role = role_for_email(email, settings.roles)
        if role is None:
            st.title("No access")
            st.write(f"You are signed in as **{email or 'an account without an email'}**, which has no role in "
                     "Connect Ops. Ask an admin to add you to `[roles]`.")
            st.button("Sign out", on_click=st.logout)
            st.stop()
        return Actor(email=email, name=st.user.get("name"), role=role)
    if settings.demo_mode:
        role = st.sidebar.selectbox("Demo role", [r.value for r in (Role.ADMIN, Role.SUPPORT, Role.RISK, Role.FINANCE)],
                                    key="demo_role",
                                    help="The demo user can try every role. With sign-in configured, roles "
                                         "come from [roles] in secrets.")
        return Actor(email=DEMO_USER, name="Demo user", role=Role(role), demo=True)
    st.warning("Read-only: a Stripe key is configured but sign-in ([auth] in secrets) is not, so nobody can be "
               "held to account for actions. Configure sign-in to enable actions.", icon=":material/lock:")
    return Actor(email="local-viewer", name="Local viewer", role=Role.ADMIN, read_only=True)


def navigation_for(actor: Actor) -> dict[str, list[st.Page]]:
    """Only pages the role may use are registered, so the others cannot be routed to at all."""
    sections: dict[str, list[st.Page]] = {}
    for spec in PAGES:
        path = PAGES_DIR / f"{spec.key}.py"
        if path.exists() and allowed(actor, f"page:{spec.key}"):
            page = st.Page(str(path), title=spec.title, icon=spec.icon, url_path=spec.key,
                           default=spec.key == "overview")
            sections.setdefault(spec.section, []).append(page)
    return sections


def show_freshness(runtime) -> None:
    state = freshness(runtime.store.runs(), datetime.utcnow(), runtime.stale_after)
    if state.level in ("fresh", "running"):
        st.caption(f":material/sync: {state.text}")
    else:
        detail = f": {state.error}" if state.error else ""
        st.warning(f"{state.text}{detail}", icon=":material/sync_problem:")


def main() -> None:
    st.set_page_config(page_title="Connect Ops", page_icon=":material/hub:", layout="wide")
    settings = settings_or_stop()
    actor = current_actor(settings)
    try:
        runtime = get_runtime()
    except (SettingsError, StoreError, RuntimeError) as exc:
        fail(f"Connect Ops cannot open its data: {exc}")
    st.session_state["actor"] = actor
    if runtime.demo:
        st.sidebar.info("**Demo data**: a local Stripe emulator with a seeded demo platform. Nothing here "
                        "touches a real Stripe account.", icon=":material/science:")
    if runtime.demo and not runtime.has_synced():
        st.title("Preparing the demo platform")
        if sync_with_progress(runtime, "Loading the demo platform from the local Stripe emulator…") is None:
            st.stop()
    with st.sidebar:
        st.caption(f"Signed in as **{actor.name or actor.email}** · {actor.role.value}")
        if settings.sign_in_configured:
            st.button("Sign out", on_click=st.logout, icon=":material/logout:")
    show_freshness(runtime)
    st.navigation(navigation_for(actor)).run()


main()
