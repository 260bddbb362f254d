"""Connect Ops shell: configuration, sign-in, freshness header and navigation by role."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.auth import Actor, Role, role_for_email
from core.app.navigation import pages_for
from core.settings import Settings, SettingsError, load_settings
from core.app.st_runtime import get_runtime
from core.mirror.store import StoreError
from core.app.text import NAME_LIMIT, md

DEMO_USER = "demo@connect-ops.local"


def fail(message: str) -> None:
    only(lambda: st.error(message, icon=":material/error:"), "Connect Ops")


def settings_or_stop() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(f"Connect Ops cannot start: {exc}. Fix the environment or `.streamlit/secrets.toml`, then reload.")
    raise AssertionError  # unreachable: fail() stops the script


def sign_in_view() -> None:
    st.title("Connect Ops")
    st.write("Sign in with your company account to continue.")
    st.button("Sign in", type="primary", on_click=st.login, icon=":material/login:")


def no_access_view() -> None:
    email = str(st.user.get("email") or "")
    st.title("No access")
    st.write("You are signed in as this account, which has no role in Connect Ops. "
             "Ask an admin to add it to `[roles]`.")
    st.code(email or "(an account without an email)", language=None)  # text from the sign-in provider: shown as text
    st.button("Sign out", on_click=st.logout)


def only(view, title: str) -> None:
    """Route every URL to one view: nothing else is reachable (and pages/ is never auto-listed)."""
    st.navigation([st.Page(view, title=title, default=True)], position="hidden").run()
    st.stop()


def current_actor(settings: Settings) -> Actor:
    """Who is here: the OIDC user when [auth] is configured, else the local demo or read-only user."""
    if settings.sign_in_configured:
        if not st.user.is_logged_in:
            only(sign_in_view, "Sign in")
        email = str(st.user.get("email") or "")
        role = role_for_email(email, settings.roles)
        if role is None:
            only(no_access_view, "No access")
        return Actor(email=email, name=st.user.get("name"), role=role)
    if settings.demo_mode:
        roles = [r.value for r in (Role.ADMIN, Role.SUPPORT, Role.RISK, Role.FINANCE)]
        chosen = st.session_state.setdefault("actor_role", Role.ADMIN.value)
        role = st.sidebar.selectbox("Demo role", roles, index=roles.index(chosen), key="demo_role",
                                    on_change=lambda: st.session_state.update(actor_role=st.session_state.demo_role),
                                    help="The demo user can try every role. With sign-in configured, roles "
                                         "come from [roles] in secrets.")
        st.session_state["actor_role"] = role
        return Actor(email=DEMO_USER, name="Demo user", role=Role(role), demo=True)
    st.sidebar.warning("Read-only: a Stripe key is configured but sign-in ([auth] in secrets) is not, so "
                       "nobody can be held to account for actions. Configure sign-in to enable actions.",
                       icon=":material/lock:")
    return Actor(email="local-viewer", name="Local viewer", role=Role.ADMIN, read_only=True)


def navigation_for(actor: Actor) -> dict[str, list[st.Page]]:
    """Only pages the role may use are registered, so the others cannot be routed to at all."""
    sections: dict[str, list[st.Page]] = {}
    for spec in pages_for(actor):
        page = st.Page(str(spec.path), title=spec.title, icon=spec.icon, url_path=spec.key,
                       default=spec.key == "overview")
        sections.setdefault(spec.section, []).append(page)
    return sections


APP_ICON = Path(__file__).resolve().parent / "core" / "app" / "static" / "icon.svg"


def main() -> None:
    # The tab's icon is a file the app serves itself: a ":material/..." page icon makes the browser fetch an SVG
    # from fonts.gstatic.com on every page, which fails offline or behind a strict proxy (issue 19).
    st.set_page_config(page_title="Connect Ops", page_icon=str(APP_ICON), layout="wide")
    settings = settings_or_stop()
    actor = current_actor(settings)
    try:
        runtime = get_runtime(settings)
    except (SettingsError, StoreError, RuntimeError) as exc:
        fail(f"Connect Ops cannot open its data: {exc}")
    st.session_state["actor"] = actor
    if runtime.demo:
        st.sidebar.info("**Demo data**: a local Stripe emulator with a seeded demo platform. Nothing here "
                        "touches a real Stripe account.", icon=":material/science:")
    with st.sidebar:
        st.caption(f"Signed in as **{md(actor.name or actor.email, NAME_LIMIT)}** · {actor.role.value}")
        if settings.sign_in_configured:
            st.button("Sign out", on_click=st.logout, icon=":material/logout:")
    st.navigation(navigation_for(actor)).run()


main()
