"""Each hand-built scenario's known answer, read back through the same code the page and the CLI use."""
from __future__ import annotations

import pytest

from core.revenue import queries
from core.revenue.definitions import Measures
from tests.revenue.conftest import AWAITING, EXPECTED, NEGATIVE_BALANCE_COVERED, PLATFORM_OWN_SALE, Scenarios


def _facts(scenarios: Scenarios) -> queries.Facts:
    return queries.facts(scenarios.store.cursor(), scenarios.start, scenarios.end)


def merchant(facts: queries.Facts, account: str, currency: str | None) -> Measures:
    """One merchant's sums in one currency (or converted, currency None)."""
    rows = queries.view_rows(facts.by_merchant, currency, facts.platform_currency)
    found = queries.rollup(rows[rows["merchant"] == account], [], currency or facts.platform_currency)
    assert found, f"no figures for {account}"
    return found[0].measures


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_scenario_has_its_known_answer(scenarios: Scenarios, name: str) -> None:
    expected = EXPECTED[name]
    facts = _facts(scenarios)
    got = merchant(facts, scenarios.accounts[name], expected["currency"])
    for key, value in expected.items():
        if key in ("currency", "charge_type", "converted"):
            continue
        assert getattr(got, key) == value, f"{name}: {key} is {getattr(got, key)}, expected {value}"
    rows = facts.by_merchant[(facts.by_merchant["merchant"] == scenarios.accounts[name])
                             & ((facts.by_merchant["gmv"] > 0) | (expected.get("gmv") == 0))]
    assert set(rows["charge_type"]) == {expected["charge_type"]}


@pytest.mark.parametrize("name", ["cross_currency", "jpy", "cross_currency_transfer"])
def test_converted_at_the_settlement_rate(scenarios: Scenarios, name: str) -> None:
    facts = _facts(scenarios)
    got = merchant(facts, scenarios.accounts[name], None)
    assert got.currency == "usd"
    for key, value in EXPECTED[name]["converted"].items():
        assert getattr(got, key) == value, f"{name}: converted {key} is {getattr(got, key)}, expected {value}"
    rates = {r.currency: r for r in queries.rates_used(facts)}
    assert (rates["eur"].lowest, rates["eur"].highest, rates["eur"].average) == (1.08, 1.08, 1.08)
    assert rates["jpy"].average == 0.0067
    assert queries.unconverted(facts) == [], "every scenario settled in the platform's balance or paid it a fee"


def test_py_payments_are_not_gmv(scenarios: Scenarios) -> None:
    """Each destination charge and transfer made a py_ payment on its merchant: none of them counts."""
    facts = _facts(scenarios)
    payments = scenarios.store.cursor().execute(
        "SELECT count(*) FROM charges WHERE source_transfer_id IS NOT NULL AND created >= ?",
        [queries.Period(start=scenarios.start, end=scenarios.end).bounds[0]]).fetchone()[0]
    assert payments >= 8
    assert sum(m.charges for m in queries.totals(facts).values()) == 20, "captured charges, not the platform's own"


# No merchant's: the covered negative balance, the platform's own $50.00 sale, and the $70.00 separate charge
# awaiting its transfer (GMV, with Stripe's 2.03 + 0.30 fee, held for an account: not revenue).
UNATTRIBUTED = Measures(currency="usd", negative_balances_covered=NEGATIVE_BALANCE_COVERED,
                        platform_own_sales=PLATFORM_OWN_SALE, gmv=AWAITING, charges=1, stripe_fees=203 + 30,
                        awaiting_transfer=AWAITING)


def test_totals_are_the_scenarios_sums(scenarios: Scenarios) -> None:
    """Nothing else happened today: each currency's total is the sum of its scenarios, and the smaller
    transfer's merchant has no GMV of its own (the separate charge is its larger transfer's)."""
    facts = _facts(scenarios)
    totals = queries.totals(facts)
    unattributed = {"usd": UNATTRIBUTED}
    assert merchant(facts, queries.UNKNOWN, "usd") == UNATTRIBUTED
    for currency in ("usd", "eur", "jpy"):
        mine = [n for n, e in EXPECTED.items() if e["currency"] == currency]
        want = sum((merchant(facts, scenarios.accounts[n], currency) for n in mine),
                   unattributed.get(currency, Measures(currency=currency)))
        assert totals[currency] == want
    assert totals["usd"].revenue == (1_000 + 1_500 + 1_000 + 1_500 + 600 + 500 + 1_000  # the first scenarios
                                     + 1_000 + 2_000 + 1_000 + 2_000 + 1_000 + 0 + 1_000 + 1_000)  # issue 20's
    assert totals["usd"].negative_balances_covered == NEGATIVE_BALANCE_COVERED
    assert totals["usd"].losses == 11_500 + 4_000 + 1_500 + NEGATIVE_BALANCE_COVERED
    assert totals["usd"].platform_own_sales == PLATFORM_OWN_SALE and totals["usd"].awaiting_transfer == AWAITING
    for name in ("separate_smaller", "group_shared_other"):
        smaller = facts.by_merchant[facts.by_merchant["merchant"] == scenarios.accounts[name]]
        assert int(smaller["gmv"].sum()) == 0
