"""The app does not wait for its first sync: the Overview renders at once, says it is loading (with the
count so far), says "No data yet" instead of zeros, shows partial figures as rows arrive, and is
complete once the sync ends."""
from __future__ import annotations

import functools
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.app import runtime as runtime_module
from core.app import st_runtime
from tests.pages.conftest import APP

NOTICE = "Loading the platform from Stripe: 1,234 objects so far; figures are partial until it finishes."
NO_DATA = "No data yet — the first sync is running"


def _account(account_id: str) -> dict:
    return {"id": account_id, "object": "account", "created": 1_700_000_000, "type": "express", "country": "US",
            "charges_enabled": True, "payouts_enabled": True, "details_submitted": True,
            "requirements": {"disabled_reason": None, "past_due": [], "currently_due": []}}


def test_overview_while_the_first_sync_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started, release = threading.Event(), threading.Event()

    def first_sync(settings, store, progress):  # a first sync held open by the test
        run_id = store.start_run("full")
        progress("1,234 objects so far")
        started.set()
        release.wait(60)
        store.finish_run(run_id, "succeeded", 1, 1)

    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_firstsync0001")  # a real key: no emulator, read-only viewer
    monkeypatch.setenv("STRIPE_API_BASE", "http://127.0.0.1:9")
    monkeypatch.setenv("CONNECT_OPS_DB", str(tmp_path / "loading.duckdb"))
    monkeypatch.setattr(st_runtime, "build_runtime", functools.partial(runtime_module.build_runtime, sync=first_sync))
    runtime = st_runtime.get_runtime()
    try:
        assert started.wait(10), "the first sync started at once, without any page asking for it"
        at = AppTest.from_file(APP, default_timeout=60).run()
        assert not at.exception, at.exception
        assert at.title[0].value == "Overview"
        assert [i.value for i in at.info] == [NOTICE]
        captions = [c.value for c in at.caption]
        assert captions.count(NO_DATA) == 6, captions  # every figure says so
        assert all(m.value == "—" for m in at.metric), [m.value for m in at.metric]

        with runtime.store.transaction() as conn:  # the first rows arrive (the sync commits page by page)
            runtime.store.upsert(conn, "connected_accounts", "", [_account("acct_1Partial00000001")])
        at.run()
        assert not at.exception, at.exception
        assert [i.value for i in at.info] == [NOTICE], "still loading"
        assert NO_DATA not in [c.value for c in at.caption]
        assert "Enabled: **1**" in [m.value for m in at.markdown]

        release.set()
        deadline = time.monotonic() + 10
        while runtime.scheduler.running and time.monotonic() < deadline:
            time.sleep(0.02)
        at.run()
        assert not at.exception, at.exception
        assert not at.info, "the notice is gone once the first sync has finished"
        assert any(c.value.endswith("Synced just now") for c in at.caption), [c.value for c in at.caption]
    finally:
        release.set()
        runtime.close()
