"""Connect Ops core: everything but layout. Pages import from here; nothing here imports pages."""
