"""Stripe -> DuckDB sync. `sync(store, api)` runs one; `python -m core.sync [--full]` from a shell."""
from core.sync.engine import SyncEngine, SyncError, SyncResult, sync

__all__ = ["SyncEngine", "SyncError", "SyncResult", "sync"]
