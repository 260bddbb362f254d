"""Connect Ops: the app shell comes with the app-shell issue; for now it says so."""
import streamlit as st

st.set_page_config(page_title="Connect Ops", layout="wide")
st.title("Connect Ops")
st.info("The app is empty for now: the foundation (emulator, settings, two commands) is in place. "
        "Run `make emulator` to explore the demo platform's Stripe API.")
