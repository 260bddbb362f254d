"""The demo's bad merchants rank at the top of the queue; `connect-ops risk-queue` prints the same queue.

The demo is pinned to one day (`--anchor`) and the queue measured at a fixed time after it, so the ranking
is the same every day this test runs.
"""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from core.emulator.launcher import start_emulator
from core.risk.queue import QueueFilters, queue, table_rows
from tests.risk.conftest import demo_profiles, synced_store

ROOT = Path(__file__).resolve().parents[2]
ANCHOR = datetime(2026, 12, 2, tzinfo=UTC)       # the demo's last day
MEASURED = datetime(2026, 12, 2, 9, 0)           # naive UTC, as the mirror keeps time
SEED = 1


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The small demo (the app's own seed in tests) synced over HTTP, then closed: readers open it read-only."""
    path = tmp_path_factory.mktemp("risk_ranking") / "ranking.duckdb"
    with start_emulator("--scale", "small", "--seed", str(SEED), "--anchor", str(int(ANCHOR.timestamp()))) as emulator:
        synced_store(emulator, path).close()
    yield path


def test_the_demos_bad_merchants_rank_at_the_top(mirror: Path) -> None:
    bad = {account for account, profile in demo_profiles(SEED).items() if profile == "bad"}
    with duckdb.connect(str(mirror), read_only=True) as con:
        page = queue(con.cursor(), QueueFilters(review_states=(), min_score=0, lanes=()), now=MEASURED, limit=None)
    ranked = [row.account for row in page.rows]
    assert len(ranked) == page.accounts == page.total
    riskiest_bad = min(ranked.index(account) for account in bad)
    assert riskiest_bad < 10, "the demo's worst random bad merchant is in the top ten"
    top = page.rows[0]
    assert top.business_name == "Nightowl Gadgets", [(r.business_name, r.score) for r in page.rows[:5]]
    assert top.score >= 40 and len(top.reasons) >= 3, top.reasons
    assert all(any(ch.isdigit() for ch in reason) for reason in top.reasons), "reasons carry their numbers"


# The risk demo's cases (core/emulator/risk_demo.py), by what an analyst would do with each.
CASES_FIRST = ["Nightowl Gadgets", "Ironclad Supplements", "Bluebell Tickets"]  # in this order, the top 3
NOT_CASES = ["Pebble One-Off", "Quiet Inquiry Books"]  # 1 dispute on 1 sale; inquiries only


def test_the_demo_queue_holds_only_material_cases(mirror: Path) -> None:
    """The queue is the material cases: the bust-out, the Mastercard breach and the 3-in-a-month merchant lead;
    the demo's worst random bad merchant (Radar's share 34% of 41) is in the top 5; tiny samples, inquiries and
    a first month's single dispute are under watch; the account already rejected has left the queue."""
    bad = {account for account, profile in demo_profiles(SEED).items() if profile == "bad"}
    with duckdb.connect(str(mirror), read_only=True) as con:
        cases = queue(con.cursor(), QueueFilters(), now=MEASURED, limit=None)
        watch = queue(con.cursor(), QueueFilters(lanes=("watch",), min_score=0), now=MEASURED, limit=None)
        rejected = queue(con.cursor(), QueueFilters(lanes=("rejected",), min_score=0), now=MEASURED, limit=None)
        everything = queue(con.cursor(), QueueFilters(lanes=(), review_states=(), min_score=0), now=MEASURED,
                           limit=None)
    names = [r.business_name for r in cases.rows]
    assert names[:3] == CASES_FIRST, [(r.business_name, r.score, r.reasons) for r in cases.rows]
    assert any(r.account in bad for r in cases.rows[:5]), "the worst random bad merchant is in the top 5"
    assert all(r.lane == "case" for r in cases.rows) and 3 <= cases.total <= 12, cases.total
    assert cases.total < everything.total / 5, "a queue, not half the platform"
    watched = {r.business_name for r in watch.rows}
    assert set(NOT_CASES) <= watched and not set(NOT_CASES) & set(names)
    assert rejected.rows and all(r.metrics.disabled_reason.startswith("rejected.") for r in rejected.rows)
    assert not {r.account for r in rejected.rows} & {r.account for r in cases.rows + watch.rows}
    spiked = next(r for r in rejected.rows if r.signals[0] == "volume_spike")  # rejected outside the app: scores 20
    assert spiked.score >= 15, "it would be a case, but it is rejected: out of the queue, its exposure in view"
    assert table_rows([spiked])[0]["exposure"].startswith("balance USD "), table_rows([spiked])[0]
    fresh = next(r for r in everything.rows if r.business_name == "Fresh Start Studio")
    assert fresh.signals == ["young_high_volume"], "1 dispute on its first month's sales: no Mastercard ratio"
    bust_out = cases.rows[0]
    assert bust_out.signals[0] == "dispute_activity" and "with 90% confidence" in bust_out.reasons[0]
    mastercard = cases.rows[1]
    network = next(f.reason for f in mastercard.findings if f.signal == "network_program")
    assert "Mastercard sales the month before" in network and "would be past Mastercard's 1.5% ECM line" in network


def _cli(mirror: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # demo settings (no key: a pinned CONNECT_OPS_NOW is allowed), reading this mirror only
    env = {**{k: v for k, v in os.environ.items() if k != "STRIPE_API_KEY"}, "CONNECT_OPS_DB": str(mirror)}
    return subprocess.run([sys.executable, "-m", "core.cli", "risk-queue", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_cli_prints_the_queue_as_json_ordered_by_score(mirror: Path) -> None:
    done = _cli(mirror, "--limit", "5")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert 0 < len(rows) <= 5
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    for row in rows:
        assert {"account", "score", "reasons", "review_state", "signals", "values"} <= row.keys()
        assert row["review_state"] == "new" and row["reasons"] and set(row["signals"]) <= {
            "dispute_activity", "dispute_rate", "refund_rate", "risky_charges", "past_due", "deadline_soon", "disabled",
            "volume_spike", "young_high_volume", "volume_drop", "failed_payouts", "negative_balance", "shared_bank",
            "network_program"}
    with duckdb.connect(str(mirror), read_only=True) as con:  # the page's code, the page's answer
        same = queue(con.cursor(), QueueFilters(), limit=5).rows
    assert [r["account"] for r in rows] == [r.account for r in same]


def test_cli_csv_and_filters(mirror: Path) -> None:
    done = _cli(mirror, "--format", "csv", "--signal", "past_due", "--lane", "all")
    assert done.returncode == 0, done.stderr
    table = list(csv.DictReader(io.StringIO(done.stdout)))
    assert table and all("past_due" in row["signals"].split() for row in table)
    assert list(table[0])[:4] == ["account", "score", "review_state", "assignee"]
    bad = _cli(mirror, "--signal", "bogus")
    assert bad.returncode == 2 and "bogus" in bad.stderr and not bad.stdout
    lane = _cli(mirror, "--lane", "nowhere")
    assert lane.returncode == 2 and "nowhere" in lane.stderr and not lane.stdout


def test_a_measurement_later_still_ranks_the_same_bad_merchant_first(mirror: Path) -> None:
    """A week on, nothing new happened: the leader keeps its lead (windows slide, patterns stay)."""
    with duckdb.connect(str(mirror), read_only=True) as con:
        first = queue(con.cursor(), QueueFilters(review_states=()), now=MEASURED, limit=1).rows[0]
        later = queue(con.cursor(), QueueFilters(review_states=()), now=MEASURED + timedelta(days=7), limit=1).rows[0]
    assert later.account == first.account
