"""Connect Ops entry point. The full shell (sign-in, roles, pages) arrives with the app-shell issue."""
from __future__ import annotations

import streamlit as st

from core.demo import demo_settings, start_demo_emulator
from core.settings import Settings, SettingsError, load_settings

st.set_page_config(page_title="Connect Ops", page_icon=":material/hub:", layout="wide")


@st.cache_resource(show_spinner="Starting the demo platform (local Stripe emulator)...")
def _demo(settings: Settings):  # one emulator per app process
    return start_demo_emulator(settings)


def main() -> None:
    st.title("Connect Ops")
    try:
        settings = load_settings()
    except SettingsError as exc:
        st.error(f"Connect Ops cannot start: {exc}")
        st.stop()
    if settings.demo_mode:
        process = _demo(settings)
        settings = demo_settings(settings, process)
        st.warning("Demo data: no STRIPE_API_KEY is set, so Connect Ops runs on a local Stripe emulator "
                   f"with a seeded demo platform ({settings.connect_ops_demo_scale}).", icon=":material/science:")
        st.caption(f"Emulator: {settings.stripe_api_base}")
    st.info("The pages arrive with the next issues (sync, app shell, merchants).")


main()
