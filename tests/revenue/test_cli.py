"""`connect-ops revenue` as people run it: a subprocess reading a mirror, printing the page's figures."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from core.revenue import queries
from tests.cli.test_accounts_cli import connect_ops
from tests.revenue.conftest import EXPECTED

ENTRY = {"gmv", "charges", "refunded", "application_fees", "application_fees_refunded", "implicit_fees", "revenue",
         "take_rate_bps",
         # issue 20's contract
         "implicit_fees_refunded", "account_debits", "account_debits_reversed", "stripe_fees", "margin",
         "refunded_volume", "losses", "losses_by_kind", "awaiting_transfer", "platform_own_sales", "revenue_rate_bps",
         "charges_allocated_by_amount", "unconverted_transfers"}
RATES = {"take_rate_bps", "revenue_rate_bps"}


def _dates(scenarios) -> tuple[str, str]:
    return scenarios.start.isoformat(), scenarios.end.isoformat()


def test_json_has_the_issue_shape_and_the_scenarios_figures(scenarios, scenario_mirror: Path) -> None:
    start, end = _dates(scenarios)
    done = connect_ops(scenario_mirror, "revenue", "--from", start, "--to", end, "--by", "day", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) == {"from", "to", "by", "dated", "platform_currency", "currencies"} and (data["from"], data["to"], data["by"]) == (start, end, "day")
    assert set(data["currencies"]) == {"usd", "eur", "jpy"}
    for currency, entry in data["currencies"].items():
        assert set(entry) == ENTRY | {"series"}
        assert all(set(point) == ENTRY | {"period"} for point in entry["series"])
        for name in ENTRY - RATES - {"losses_by_kind"}:
            assert sum(p[name] for p in entry["series"]) == entry[name], f"{currency} {name}: series sum to total"
    jpy = data["currencies"]["jpy"]
    assert (jpy["gmv"], jpy["charges"], jpy["application_fees"], jpy["revenue"], jpy["take_rate_bps"]) == (
        12_000, 1, 1_200, 1_200, EXPECTED["jpy"]["take_rate_bps"])
    usd = data["currencies"]["usd"]
    assert (usd["charges"], usd["refunded"], usd["implicit_fees"]) == (
        17, 4_000 + 5_000 + 5_000 + 5_000 + 4_000, 1_500 + 1_500 + 1_000 + 1_000 + 2_000 + 1_000 + 1_000)
    assert usd["refunded_volume"] == usd["refunded"] and usd["platform_own_sales"] == 100_000
    assert usd["losses_by_kind"] == {"refunds": 4_000, "disputes": 10_000, "dispute_fees": 1_500 + 1_500,
                                     "negative_balances": 2_500}
    assert usd["charges_allocated_by_amount"] == 2 and data["platform_currency"] == "usd"
    assert usd["application_fees_refunded"] == 400
    expected = queries.report(scenarios.store.cursor(), scenarios.start, scenarios.end, "day")
    assert data == json.loads(json.dumps(expected)), "the same code as the page"


def test_csv_by_month(scenarios, scenario_mirror: Path) -> None:
    start, end = _dates(scenarios)
    done = connect_ops(scenario_mirror, "revenue", "--from", start, "--to", end, "--by", "month", "--format", "csv")
    assert done.returncode == 0, done.stderr
    lines = list(csv.DictReader(io.StringIO(done.stdout)))
    totals = {row["currency"]: row for row in lines if row["period"] == "total"}
    assert set(totals) == {"usd", "eur", "jpy"}
    assert totals["eur"]["gmv"] == "20000" and totals["eur"]["revenue"] == str(1_000 + 1_667)
    months = [row for row in lines if row["currency"] == "eur" and row["period"] != "total"]
    assert [row["period"] for row in months] == [scenarios.start.replace(day=1).isoformat()]


def test_bad_dates_are_one_line(scenario_mirror: Path) -> None:
    done = connect_ops(scenario_mirror, "revenue", "--from", "2025-02-30", "--to", "2025-03-01")
    assert done.returncode == 2 and "not a date" in done.stderr
    done = connect_ops(scenario_mirror, "revenue", "--from", "2025-03-02", "--to", "2025-03-01")
    assert done.returncode == 2 and "before --from" in done.stderr and done.stdout == ""


def test_a_missing_mirror_is_one_line(tmp_path: Path) -> None:
    done = connect_ops(tmp_path / "none.duckdb", "revenue", "--from", "2025-01-01", "--to", "2025-01-31")
    assert done.returncode == 1 and "no mirror" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_dates_out_of_range_are_one_line(scenario_mirror: Path) -> None:
    """--from 9999-12-30 used to overflow a date and print a traceback."""
    for args in (("--from", "9999-12-30", "--to", "9999-12-31"), ("--from", "0001-01-01", "--to", "0001-01-02")):
        done = connect_ops(scenario_mirror, "revenue", *args)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert "out of range" in done.stderr.strip().splitlines()[-1], "argparse's usage, then one line"


def test_dated_by_event(scenarios, scenario_mirror: Path) -> None:
    """Every scenario's refunds and disputes happened the day of its charge: both datings agree."""
    start, end = _dates(scenarios)
    done = connect_ops(scenario_mirror, "revenue", "--from", start, "--to", end, "--dated", "event")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["dated"] == "event"
    assert data["currencies"] == queries.report(scenarios.store.cursor(), scenarios.start, scenarios.end)["currencies"]
    done = connect_ops(scenario_mirror, "revenue", "--from", start, "--to", end, "--dated", "refund")
    assert done.returncode == 2 and "invalid choice" in done.stderr
