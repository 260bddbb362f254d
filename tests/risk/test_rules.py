"""The thresholds table: every line others draw carries its source and the date it applies from; a line that
changed over time is picked by date; the weights are data the score uses as written."""
from __future__ import annotations

from datetime import date, datetime

from core.risk import rules
from core.risk.score import assess
from core.risk.months import BrandMonth
from core.risk.signals import AccountMetrics, with_views


def test_every_outside_line_has_a_source_and_a_date_or_says_it_has_none() -> None:
    for row in rules.RULES:
        assert row.source, row.key
        if not row.is_policy:
            assert row.source_url and row.source_url.startswith("https://"), row.key
            assert row.note, f"{row.key}: say what the source counts"
    dated = {r.key for r in rules.RULES if r.applies_from is not None}
    assert {"visa_vamp", "mastercard_ecm", "mastercard_hecm"} <= dated
    assert rules.rule("stripe_excessive").applies_from is None, "Stripe publishes no date for its 0.75%"


def test_visas_line_moved_in_april_2026() -> None:
    assert rules.rule("visa_vamp", date(2025, 5, 31)) is None, "VAMP's merchant line starts in June 2025"
    assert rules.rule("visa_vamp", date(2026, 3, 31)).value == 0.022
    assert rules.rule("visa_vamp", date(2026, 4, 1)).value == 0.015
    assert [r.key for r in rules.dispute_lines(date(2026, 11, 1))] == [
        "stripe_excessive", "visa_vamp", "mastercard_ecm", "mastercard_hecm"]
    assert rules.rule("visa_vamp", date(2026, 4, 1)).min_count == 1501, "more than 1,500 a month"
    ecm = rules.rule("mastercard_ecm", date(2026, 4, 1))
    assert (ecm.value, ecm.min_count, ecm.max_count) == (0.015, 100, 299)
    assert rules.rule("mastercard_hecm", date(2026, 4, 1)).value == 0.03


def test_stripe_says_above_so_the_line_itself_is_not_past_it() -> None:
    stripe_line = rules.rule("stripe_excessive")
    assert not rules.crossed(stripe_line, 0.0075) and rules.crossed(stripe_line, 0.0076)
    assert rules.crossed(rules.rule("visa_vamp", date(2026, 5, 1)), 0.015)


def _metrics(**values) -> AccountMetrics:
    base = {"id": "acct_test", "business_name": None, "email": None, "country": "US", "type": "custom",
            "status": "enabled", "created": datetime(2024, 1, 1), "default_currency": "usd", "disabled_reason": None,
            "past_due": [], "currently_due_count": 0, "current_deadline": None, "charges_enabled": True,
            "payouts_enabled": True, "now": datetime(2026, 5, 15)}
    return AccountMetrics(**{**base, **values})


def test_the_line_in_force_that_month_names_the_reason() -> None:
    """30 Visa disputes on 1,500 Visa online sales (2%): past Visa's 1.5% of May 2026, not its 2.2% of March;
    30 is far below VAMP's 1,501 a month, so the reason says what would be, never 'above'."""
    def visa_month(month: date) -> AccountMetrics:
        return with_views(_metrics(brand_months=[BrandMonth(month=month, brand="visa", settled=1500, settled_cnp=1500,
                                                            disputes=30, disputes_cnp=30)],
                                   now=datetime(month.year, month.month, 20)))

    march, may = assess(visa_month(date(2026, 3, 1))), assess(visa_month(date(2026, 5, 1)))
    assert "above Stripe's 0.75% guidance" in march.reasons[0]
    assert not any("VAMP" in r for r in march.reasons), "2% is under Visa's 2.2% of March"
    network = next(f.reason for f in may.findings if f.signal == "network_program")
    assert "at 1,501 disputes and fraud reports a month this ratio would be past Visa's 1.5% VAMP line" in network
    assert not any("above Visa" in r for r in may.reasons)
