"""Each signal fires on an account crafted for it through the SDK and the emulator's controls, and not on a
clean one; the reasons carry the numbers.

The emulator's demo history ends 35 days ago here (`--anchor`), so a seeded merchant that had steady sales
has none in the last 30 days (a volume drop), and charges made now on another one are a spike.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from core import clock
from core.clock import utc_now
from core.emulator.launcher import start_emulator
from core.risk import rules
from core.risk.score import Assessment, assess
from core.risk.signals import AccountMetrics, account_metrics
from tests.mirror.test_sync import control, dump
from tests.risk.conftest import DAY, charge, new_account, sdk, synced_store

GAP_DAYS = 35  # the seeded history ends this long ago


def _merchant(item: dict[str, Any]) -> str | None:
    obj = item["object"]
    return item["account"] or ((obj.get("transfer_data") or {}).get("destination"))


def _seeded_choices(emulator: Any, now: int) -> dict[str, Any]:
    """Seeded merchants fit for the spike, drop, payout and requirement crafts (read from the emulator's dump)."""
    accounts = {a["object"]["id"]: a["object"] for a in dump(emulator, "connected_accounts")}
    baseline: dict[str, list[int]] = defaultdict(list)
    for item in dump(emulator, "charges"):
        obj = item["object"]
        who = _merchant(item)
        if who and obj["status"] == "succeeded" and now - 120 * DAY <= obj["created"] < now - 30 * DAY \
                and obj["currency"] == "usd" and not obj["id"].startswith("py_"):
            baseline[who].append(obj["amount"])
    old = [a for a in accounts.values() if a["created"] < now - 200 * DAY and a["type"] != "standard"
           and not a["requirements"]["disabled_reason"] and a["default_currency"] == "usd"]
    steady = sorted((a for a in old if len(baseline[a["id"]]) >= 35), key=lambda a: a["id"])
    some = sorted((a for a in old if 6 <= len(baseline[a["id"]]) < 35), key=lambda a: a["id"])
    payouts = dump(emulator, "payouts")
    failing = {p["account"] for p in payouts if p["object"]["status"] == "failed"}
    paid = sorted((p["account"], p["object"]["id"]) for p in payouts
                  if p["account"] and p["account"] not in failing and p["object"]["status"] == "paid"
                  and p["object"]["created"] > now - 80 * DAY)
    assert steady and some and paid, "the seed must offer merchants with history for these crafts"
    spike = some[0]
    return {"drop": steady[0]["id"], "spike": spike["id"], "spike_baseline": sum(baseline[spike["id"]]),
            "payout": paid[0], "past_due": next(a["id"] for a in old
                                                if a["id"] not in (steady[0]["id"], spike["id"], paid[0][0]))}


def _craft(emulator: Any) -> dict[str, str]:
    client = sdk(emulator)
    now = int(clock.timestamp())
    seeded = _seeded_choices(emulator, now)
    made = {"clean": new_account(client, "Clean Goods")}
    for _ in range(8):
        charge(client, made["clean"], 5_000)
    # dispute activity and dispute rate: 3 of 13 charges disputed this month
    made["disputes"] = new_account(client, "Disputed Goods")
    for source in ["tok_visa"] * 10 + ["tok_createDispute"] * 3:
        charge(client, made["disputes"], 4_000, source)
    # refund rate: 4 of 10 refunded
    made["refunds"] = new_account(client, "Refunding Goods")
    for n, paid in enumerate([charge(client, made["refunds"], 3_000) for _ in range(10)]):
        if n < 4:
            client.v1.refunds.create(params={"charge": paid.id, "reverse_transfer": True})
    # risky charges: 2 elevated, 1 highest, 1 blocked of 10 attempts
    made["risky"] = new_account(client, "Risky Goods")
    for source in ["tok_visa"] * 6 + ["tok_riskLevelElevated"] * 2 + ["tok_riskLevelHighest",
                                                                      "tok_chargeDeclinedFraudulent"]:
        charge(client, made["risky"], 2_500, source)
    # requirements: past due on a seeded merchant; due in 5 days on a new one
    made["past_due"] = seeded["past_due"]
    control(emulator, "POST", f"/_emulator/accounts/{made['past_due']}/requirements", past_due="individual.id_number",
            currently_due="individual.id_number")
    made["deadline"] = new_account(client, "Deadline Goods")
    control(emulator, "POST", f"/_emulator/accounts/{made['deadline']}/requirements",
            currently_due="company.tax_id,external_account", current_deadline=str(now + 5 * DAY))
    # disabled: rejected through the SDK (the configured API version's reasons)
    made["rejected"] = new_account(client, "Rejected Goods")
    client.v1.accounts.reject(made["rejected"], params={"reason": "fraud_other"})
    # a young account with high volume: USD 12,000 in its first day
    made["young"] = new_account(client, "Young Goods")
    for _ in range(3):
        charge(client, made["young"], 400_000)
    # a spike: five charges now worth eight times the seeded merchant's usual month of destination charges
    # (its separate charges count too, so the measured baseline is somewhat higher than this one)
    made["spike"] = seeded["spike"]
    per_month = seeded["spike_baseline"] / 3
    for _ in range(5):
        charge(client, made["spike"], int(per_month * 8 / 5) + 100)
    made["drop"] = seeded["drop"]  # steady sales until 35 days ago, none since
    # a failed payout (on a merchant whose payouts never failed), and a negative balance (a disputed direct
    # charge on a Standard account)
    made["payout"], payout_id = seeded["payout"]
    control(emulator, "POST", f"/_emulator/payouts/{payout_id}/fail")
    made["negative"] = new_account(client, "Negative Goods", kind="standard")
    charge(client, made["negative"], 6_000, "tok_createDispute", direct=True)
    # a bank account shared with an account that was then rejected
    made["shared"] = new_account(client, "Shared Goods", bank_number="000999888777")
    partner = new_account(client, "Partner Goods", bank_number="000999888777")
    client.v1.accounts.reject(partner, params={"reason": "terms_of_service"})
    return made


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], dict[str, Assessment],
                                                                        dict[str, AccountMetrics]]]:
    anchor = (int(clock.timestamp()) // DAY - GAP_DAYS) * DAY
    with start_emulator("--scale", "small", "--seed", "5", "--anchor", str(anchor)) as emulator:
        made = _craft(emulator)
        store = synced_store(emulator, tmp_path_factory.mktemp("risk_signals") / "signals.duckdb")
        metrics = {m.id: m for m in account_metrics(store.cursor(), utc_now())}
        yield made, {k: assess(m) for k, m in metrics.items()}, metrics
        store.close()


CASES = [  # (signal, crafted account, words its reason must hold)
    ("dispute_activity", "disputes", ["3 of 13 settled charges", "above Stripe's 0.75% guidance"]),
    ("dispute_rate", "disputes", ["3 of 13 charges disputed"]),
    ("refund_rate", "refunds", ["40.0%", "4 of 10 settled charges refunded"]),
    ("risky_charges", "risky", ["4 of 10 charge attempts"]),
    ("past_due", "past_due", ["1 requirement past due", "individual.id_number"]),
    ("disabled", "past_due", ["requirements.past_due"]),
    ("deadline_soon", "deadline", ["2 requirements due by"]),
    ("disabled", "rejected", ["rejected.platform_fraud", "Rejected by the platform"]),  # the SDK's 2026-10-28
    ("young_high_volume", "young", ["3 settled charges", "12,000.00"]),
    ("volume_spike", "spike", ["times its baseline"]),
    ("volume_drop", "drop", ["of its baseline", "$0.00"]),
    ("failed_payouts", "payout", ["1 failed payout in the last 90 days"]),
    ("negative_balance", "negative", ["negative balance: USD -"]),
    ("shared_bank", "shared", ["rejected account"]),
]


@pytest.mark.parametrize(("signal", "account", "words"), CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_signal_fires_on_its_crafted_account(crafted, signal: str, account: str, words: list[str]) -> None:
    made, assessments, _ = crafted
    found = next((f for f in assessments[made[account]].findings if f.signal == signal), None)
    assert found is not None, (signal, assessments[made[account]].reasons)
    assert found.points > 0
    for word in words:
        assert word in found.reason, (word, found.reason)


def test_the_clean_account_fires_nothing(crafted) -> None:
    made, assessments, metrics = crafted
    clean = assessments[made["clean"]]
    assert clean.findings == [] and clean.score == 0, clean.reasons
    assert metrics[made["clean"]].settled == 8, "it did sell: the signals just have nothing to say"


def test_dispute_activity_names_the_lines_in_force(crafted) -> None:
    made, assessments, metrics = crafted
    month = metrics[made["disputes"]].worst_month
    assert month is not None and (month.disputes, month.settled) == (3, 13)
    reason = next(f.reason for f in assessments[made["disputes"]].findings if f.signal == "dispute_activity")
    lines = rules.dispute_lines(month.month)
    assert any(line.label in reason for line in lines)
    assert "23.1%" in reason and month.month.strftime("%B %Y") in reason
    assert "3 of 13 settled charges; at least 11.7% with 90% confidence" in reason, "the reason carries its count"
    assert "VAMP" not in reason and "ECM" not in reason, "no network line is claimed on 3 disputes"


def test_scores_rank_the_crafted_accounts_above_the_clean_one(crafted) -> None:
    made, assessments, _ = crafted
    clean = assessments[made["clean"]].score
    for name in ("disputes", "refunds", "risky", "young", "spike", "negative", "shared"):
        assert assessments[made[name]].score > clean, name
    disputes = assessments[made["disputes"]]
    assert disputes.findings[0].signal == "dispute_activity", "the strongest reason comes first"
    assert 0 <= min(a.score for a in assessments.values()) and max(a.score for a in assessments.values()) <= 100
