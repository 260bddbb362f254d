"""Revenue reconciles with the platform's application_fee and application_fee_refund balance transactions."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb

from core.clock import utc_now
from core.revenue import queries


def test_scenarios_reconcile_to_the_minor_unit(scenarios) -> None:
    checked, orphans = queries.reconciliation(scenarios.store.cursor(), scenarios.start, scenarios.end)
    facts = queries.facts(scenarios.store.cursor(), scenarios.start, scenarios.end)
    totals = queries.totals(facts)
    assert {r.currency for r in checked} == {"usd", "eur", "jpy"}
    for row in checked:
        fees = totals[row.currency]
        assert row.revenue == row.ledger == fees.application_fees - fees.application_fees_refunded
        assert (row.difference, row.rounding, row.missing_entries) == (0, 0, 0)
    assert orphans == []
    usd = next(r for r in checked if r.currency == "usd")
    assert usd.revenue == 1_000 + 1_000 + 600 + 1_000 + 3 * 1_000, "the fee refund's balance transaction is counted"


def test_the_demo_reconciles(synced_store) -> None:
    """Two years of the demo: every fee has its balance transaction and every fee refund its own; what is
    left is conversion rounding, at most one minor unit per converted transaction."""
    today = utc_now().date()
    checked, orphans = queries.reconciliation(synced_store.cursor(), today - timedelta(days=760), today)
    assert checked and orphans == []
    for row in checked:
        assert row.difference == 0 and row.missing_entries == 0, row
        assert abs(row.rounding) <= row.fees
        assert row.ledger == row.revenue + row.rounding
    assert next(r for r in checked if r.currency == "usd").rounding == 0, "USD fees settle without conversion"


def test_a_missing_balance_transaction_shows_as_a_difference(scenarios, scenario_mirror: Path,
                                                             tmp_path: Path) -> None:
    """Drop the lost dispute's fee from the ledger (as if a sync had missed it): the tile says so."""
    copy = tmp_path / "broken.duckdb"
    copy.write_bytes(scenario_mirror.read_bytes())
    fee = scenarios.objects["lost_dispute"]["application_fee"]
    con = duckdb.connect(str(copy))
    try:
        con.execute("DELETE FROM balance_transactions WHERE source_id = ?", [fee])
        checked, _ = queries.reconciliation(con, scenarios.start, scenarios.end)
    finally:
        con.close()
    usd = next(r for r in checked if r.currency == "usd")
    assert (usd.difference, usd.missing_entries) == (-1_000, 1)
    assert usd.ledger == usd.revenue - 1_000


def test_a_fee_missing_from_the_mirror_shows_its_ledger_entry(scenarios, scenario_mirror: Path,
                                                               tmp_path: Path) -> None:
    """The other way round: the ledger has the fee's balance transaction, the mirror lost the fee."""
    copy = tmp_path / "orphan.duckdb"
    copy.write_bytes(scenario_mirror.read_bytes())
    fee = scenarios.objects["jpy"]["application_fee"]
    con = duckdb.connect(str(copy))
    try:
        amount = con.execute("SELECT amount FROM balance_transactions WHERE source_id = ?", [fee]).fetchone()[0]
        con.execute("DELETE FROM application_fees WHERE id = ?", [fee])
        checked, orphans = queries.reconciliation(con, scenarios.start, scenarios.end)
    finally:
        con.close()
    assert [(o.currency, o.entries, o.amount) for o in orphans] == [("usd", 1, amount)]
    assert "jpy" not in {r.currency for r in checked}
