"""A first sync costs the pages the data needs: a small scope is listed whole (no created-windows, each of
which would end in a partial page) and its events listing is its replay (no request of its own)."""
from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

from core.emulator.launcher import start_emulator
from core.mirror.store import Store
from core.mirror.sync import ACCOUNT_RESOURCES, PAGE, sync
from tests.mirror.test_sync import api_for, assert_store_equals_source, control, dump


def test_small_scopes_cost_exactly_their_pages(tmp_path: Path) -> None:
    with start_emulator("--accounts", "30", "--charges-per-account", "10-60", "--seed", "3", "--latency-ms", "20",
                        "--per-endpoint-rps", "25", "--global-rps", "100") as emu, \
            Store(tmp_path / "pages.duckdb") as store:
        control(emu, "POST", "/_emulator/stats/reset")
        sync(store, api_for(emu))
        by_account = control(emu, "GET", "/_emulator/stats")["by_account"]
        accounts = [a["object"]["id"] for a in dump(emu, "connected_accounts")]
        counts = {name: Counter(item["account"] for item in dump(emu, name)) for name in ACCOUNT_RESOURCES}
        pages = {a: sum(max(1, math.ceil(counts[name][a] / PAGE)) for name in ACCOUNT_RESOURCES) for a in accounts}
        # A dispute's evidence deadline is a future event in the seed: its charge is retrieved once more.
        extra = {a: by_account.get(a, 0) - pages[a] for a in accounts}
        assert all(n in (0, 1) for n in extra.values()), {a: n for a, n in extra.items() if n not in (0, 1)}
        assert sum(extra.values()) <= 3, extra
        assert_store_equals_source(store, emu)
