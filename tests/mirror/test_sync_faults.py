"""Under injected 500s, 429s (the emulator's buckets tighter than our budget) and latency the sync
retries its way to an exact copy."""
from __future__ import annotations

import time
from pathlib import Path

from tests.mirror.test_sync import SMALL, assert_store_equals_source

from core.emulator.launcher import start_emulator
from core.mirror.store import Store
from core.stripe_api import StripeApi
from core.mirror.sync import sync


def test_sync_survives_errors_rate_limits_and_latency(tmp_path: Path) -> None:
    args = (*SMALL, "--latency-ms", "40", "--error-rate", "0.08", "--per-endpoint-rps", "15",
            "--global-rps", "60")
    with start_emulator(*args) as emu, Store(tmp_path / "faults.duckdb") as store:
        api = StripeApi(emu.api_key, emu.base_url, max_rps=120, max_rps_per_endpoint=40,
                        backoff_base=0.1, backoff_cap=2.0)
        started = time.time()
        result = sync(store, api)
        assert api.stats.retries > 0 and api.stats.rate_limited > 0
        assert result.requests == api.stats.requests
        assert_store_equals_source(store, emu, since=started)
