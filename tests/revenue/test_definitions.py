"""The definitions: written once, each with the words shown on hover, the formulas as the issue states them."""
from __future__ import annotations

import pytest

from core.revenue.definitions import DEFINITIONS, MEASURES, Measures, basis_points


def test_every_figure_has_its_words() -> None:
    derived = {"net_gmv", "revenue", "margin", "losses", "take_rate_bps", "revenue_rate_bps"}
    assert set(MEASURES) | derived <= set(DEFINITIONS)
    for key, definition in DEFINITIONS.items():
        assert definition.key == key and definition.label and 20 < len(definition.help) < 400


def test_revenue_is_stripes_definition_with_implicit_fees() -> None:
    m = Measures(currency="usd", gmv=100_000, application_fees=5_000, application_fees_refunded=500,
                 account_debits=300, account_debits_reversed=100, implicit_fees=2_000, implicit_fees_refunded=200,
                 stripe_fees=1_000, refunded=7_000, disputes_lost=2_000, dispute_fees=1_500,
                 negative_balances_covered=400)
    assert m.revenue == 5_000 - 500 + 300 - 100 + 2_000 - 200
    assert m.margin == m.revenue - 1_000
    assert m.net_gmv == 100_000 - 7_000 - 2_000
    assert m.losses == 1_500 + 400, "refunded and disputed volume are not losses by themselves"
    m = m.model_copy(update={"losses_refunds": 3_000, "losses_disputes": 2_000})
    assert m.losses == 3_000 + 2_000 + 1_500 + 400
    assert (m.take_rate_bps, m.revenue_rate_bps) == (550.0, 650.0)
    assert Measures(currency="jpy").take_rate_bps is None, "no GMV, no rate (not zero)"


def test_currencies_are_never_added() -> None:
    with pytest.raises(ValueError, match="cannot add"):
        Measures(currency="usd", gmv=1) + Measures(currency="eur", gmv=1)
    assert (Measures(currency="jpy", gmv=1) + Measures(currency="jpy", gmv=2)).gmv == 3


def test_basis_points() -> None:
    assert basis_points(680, 10_000) == 680.0 and basis_points(1, 3) == 3_333.3 and basis_points(5, 0) is None
