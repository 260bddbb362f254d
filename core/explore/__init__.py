"""The SQL explorer: read-only SQL over the mirror for risk, finance and admin (guard, run, starters, saved
queries, schema browser, chart). pages/explore.py and `connect-ops query` call it; it never imports Streamlit."""
