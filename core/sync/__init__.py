"""`python -m core.sync [--full]`, kept from before `connect-ops sync`; the sync itself is core/mirror/sync.py."""
