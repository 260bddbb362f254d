"""Known answers for the ranking: synthetic accounts (counts, ratios, months) and the order a risk analyst expects.

The inputs are the signal values themselves (AccountMetrics, as core/risk/signals.py reads them from the mirror),
so each case says exactly what was counted. Expected orders and numbers are written from the definitions:
Stripe's dispute activity (disputes in a month / charges settled in it, https://docs.stripe.com/disputes/measuring),
Visa's VAMP ratio on Visa card-not-present sales, Mastercard's ECP ratio on last month's Mastercard sales
(core/risk/rules.py names the sources), inquiries apart, and the Wilson lower bound at z = 1.2816.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from core.risk.months import BrandMonth, wilson_lower
from core.risk.queue import material
from core.risk.score import Assessment, assess
from core.risk.signals import AccountMetrics, with_views

NOW = datetime(2026, 12, 15, 12)
OCT, NOV, DEC = date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)
Z = 1.2816


def account(name: str, months: list[tuple[Any, ...]], age_days: int = 400, **extra: Any) -> AccountMetrics:
    """An account from (month, brand, settled, disputes[, inquiries[, card-not-present settled]]) rows; its
    year's rate figures are the sums of those months unless given."""
    rows = []
    for month, brand, settled, disputes, *rest in months:
        inquiries = rest[0] if rest else 0
        cnp = rest[1] if len(rest) > 1 else settled
        rows.append(BrandMonth(month=month, brand=brand, settled=settled, settled_cnp=cnp, disputes=disputes,
                               disputes_cnp=disputes, inquiries=inquiries))
    settled = sum(r.settled for r in rows)
    fields: dict[str, Any] = dict(
        id=name, business_name=name, email=None, country="US", type="express", status="active",
        created=NOW - timedelta(days=age_days), default_currency="usd", disabled_reason=None, past_due=[],
        currently_due_count=0, current_deadline=None, charges_enabled=True, payouts_enabled=True, now=NOW,
        brand_months=rows, settled=settled, attempts=settled, disputed=sum(r.disputes for r in rows),
        inquired=sum(r.inquiries for r in rows), lifetime_charges=settled)
    fields.update(extra)
    return with_views(AccountMetrics(**fields))


def scored(*accounts: AccountMetrics) -> dict[str, Assessment]:
    return {m.id: assess(m) for m in accounts}


def finding(a: Assessment, signal: str) -> Any:
    return next((f for f in a.findings if f.signal == signal), None)


def test_wilson_lower_bound_known_answers() -> None:
    # 1 of 1: the bound is 1 / (1 + z^2) exactly; 0 of n is 0; 50 of 100 is symmetric around 0.5
    assert wilson_lower(1, 1, Z) == pytest.approx(1 / (1 + Z * Z))
    assert wilson_lower(0, 40, Z) == pytest.approx(0.0, abs=1e-12)
    p, n = 0.5, 100
    expected = (p + Z**2 / (2 * n) - Z * ((p * (1 - p) + Z**2 / (4 * n)) / n) ** 0.5) / (1 + Z**2 / n)
    assert wilson_lower(50, 100, Z) == pytest.approx(expected) == pytest.approx(0.4364, abs=1e-4)
    assert wilson_lower(500, 5000, Z) > wilson_lower(10, 116, Z) > wilson_lower(3, 83, Z) > 0.0075


RANKING = [  # (name, months, expected: must rank above every later name)
    ("bust_out_10pct_of_5000", [(NOV, "visa", 5000, 500)]),
    ("ten_of_116", [(NOV, "visa", 116, 10)]),
    ("three_of_83", [(NOV, "visa", 83, 3)]),
    ("radar_share_only", []),                      # 40 of 200 attempts risky (set below), no dispute
    ("one_and_half_pct_of_200", [(NOV, "visa", 200, 3)]),
    ("one_of_three", [(NOV, "visa", 3, 1)]),
]


def _ranking_accounts() -> list[AccountMetrics]:
    made = []
    for name, months in RANKING:
        extra = {"attempts": 200, "risky": 40, "settled": 200} if name == "radar_share_only" else {}
        made.append(account(name, months, **extra))
    made.append(account("one_of_one", [(NOV, "visa", 1, 1)]))
    return made


def test_tiny_samples_rank_below_real_problems() -> None:
    found = scored(*_ranking_accounts())
    order = sorted(found, key=lambda k: -found[k].score)
    expected = [name for name, _ in RANKING]
    assert [k for k in order if k != "one_of_one"] == expected, {k: found[k].score for k in order}
    # one dispute on one or three sales is below the minimum count: no dispute signal at all
    for tiny in ("one_of_three", "one_of_one"):
        assert found[tiny].score == 0 and not found[tiny].findings, found[tiny].reasons
        assert not material(found[tiny], NOW)
    assert material(found["ten_of_116"], NOW) and material(found["bust_out_10pct_of_5000"], NOW)


def test_severity_grows_with_the_excess_and_the_count() -> None:
    found = scored(account("big", [(NOV, "visa", 5000, 500)]), account("small", [(NOV, "visa", 200, 3)]),
                   account("same_ratio_more_sales", [(NOV, "visa", 5000, 75)]))
    big, small = finding(found["big"], "dispute_activity"), finding(found["small"], "dispute_activity")
    more = finding(found["same_ratio_more_sales"], "dispute_activity")
    assert big.points == 35, "10% on 5,000: the lower bound is over ten times the line, 500 disputes"
    assert big.points > 3 * small.points, (big.points, small.points)
    assert more.points > small.points, "1.5% on 5,000 is surer than 1.5% on 200"
    assert "3 of 200 settled charges" in small.reason and "not surely above" in small.reason
    assert "at least 9." in big.reason and "with 90% confidence" in big.reason


def test_a_new_account_with_no_prior_month_has_no_mastercard_ratio() -> None:
    """1 (or 3) disputes on 1,000 Mastercard sales of its first month: nothing to divide by for Mastercard."""
    for disputes in (1, 3):
        m = account("new", [(DEC, "mastercard", 1000, disputes)], age_days=12)
        assert m.mastercard_month is not None and m.mastercard_month.settled == 0
        assert m.mastercard_month.ratio is None
        a = assess(m)
        assert not any("Mastercard" in r or "HECM" in r or "100.0%" in r for r in a.reasons), a.reasons
        assert finding(a, "network_program") is None


@pytest.mark.parametrize(("chargebacks", "prior_sales", "claim", "not_claimed"), [
    (50, 1000, "would be past Mastercard's 1.5% ECM line", "above Mastercard"),   # 5%, below ECM's 100 count
    (150, 3000, "above Mastercard's 1.5% ECM line", "HECM"),                      # 5%, 100-299: ECM, not HECM
    (400, 8000, "above Mastercard's 3% HECM line", "1.5% ECM"),                   # 5%, 300+: HECM
])
def test_mastercard_lines_are_claimed_only_where_the_program_counts(chargebacks: int, prior_sales: int, claim: str,
                                                                    not_claimed: str) -> None:
    m = account("mc", [(OCT, "mastercard", prior_sales, 0), (NOV, "mastercard", prior_sales, chargebacks)])
    reason = finding(assess(m), "network_program").reason
    assert claim in reason and not_claimed not in reason, reason
    assert f"{chargebacks} chargebacks of {prior_sales:,} Mastercard sales the month before" in reason


def test_network_lines_move_the_score() -> None:
    enrolled = account("ecm", [(OCT, "mastercard", 3000, 0), (NOV, "mastercard", 3000, 150)])
    short = account("short", [(OCT, "mastercard", 1000, 0), (NOV, "mastercard", 1000, 50)])
    a, b = assess(enrolled), assess(short)
    assert finding(a, "network_program").points == 25 > finding(b, "network_program").points > 0


def test_mastercards_worst_month_is_found_on_its_own() -> None:
    """October is the worst month over all brands (Visa); November is Mastercard's (on October's MC sales)."""
    m = account("split", [(SEP := date(2026, 9, 1), "mastercard", 400, 0), (OCT, "visa", 1000, 40),
                          (OCT, "mastercard", 400, 0), (NOV, "visa", 2000, 2), (NOV, "mastercard", 400, 30)])
    assert SEP < OCT
    assert m.worst_month.month == OCT and m.mastercard_month.month == NOV
    assert (m.mastercard_month.disputes, m.mastercard_month.settled) == (30, 400)
    reason = finding(assess(m), "network_program").reason
    assert "November 2026" in reason and "30 chargebacks of 400 Mastercard sales" in reason


def test_inquiries_only_are_not_disputes() -> None:
    m = account("inquiries", [(NOV, "visa", 100, 0, 8)])
    a = assess(m)
    assert a.score == 0 and not a.findings, a.reasons
    mixed = assess(account("mixed", [(NOV, "visa", 100, 4, 6)]))
    assert "4 of 100 settled charges" in finding(mixed, "dispute_activity").reason
    assert "6 inquiries not counted" in finding(mixed, "dispute_activity").reason


def test_card_present_sales_are_not_in_vamps_denominator() -> None:
    """30 disputes; 3,000 Visa sales of which 300 online: Stripe's activity is 1%, Visa's VAMP ratio 10%."""
    present_heavy = account("present", [(NOV, "visa", 3000, 30, 0, 300)])
    online = account("online", [(NOV, "visa", 3000, 30)])
    assert present_heavy.visa_month.settled == 300 and present_heavy.worst_month.settled == 3000
    found = scored(present_heavy, online)
    assert found["present"].score > found["online"].score
    reason = finding(found["present"], "network_program").reason
    assert "30 disputes and fraud reports of 300 Visa card-not-present sales" in reason
    assert "would be past Visa's" in reason


def test_vamp_is_split_by_card_brand() -> None:
    """10 Mastercard chargebacks on 200 Mastercard sales, hidden among 5,000 Visa sales, fire Mastercard's
    ratio; the same 10 on Visa among the same sales fire nothing (0.19% of Visa's)."""
    mc = account("mc", [(OCT, "mastercard", 200, 0), (OCT, "visa", 5000, 0), (NOV, "mastercard", 200, 10),
                        (NOV, "visa", 5000, 0)])
    visa = account("visa", [(OCT, "visa", 5200, 0), (NOV, "visa", 5200, 10)])
    assert mc.visa_month is None and visa.mastercard_month is None
    found = scored(mc, visa)
    assert finding(found["mc"], "network_program") is not None
    assert "Visa" not in finding(found["mc"], "network_program").reason
    assert finding(found["visa"], "network_program") is None
    assert found["mc"].score > found["visa"].score


def test_fraud_reports_count_in_vamp_only() -> None:
    """Issuers' fraud reports (Radar's early fraud warnings) on sales not disputed count in VAMP's numerator, never
    in Stripe's dispute activity: 10 disputes and 20 reports on 1,000 Visa online sales are 3% for Visa."""
    rows = [BrandMonth(month=NOV, brand="visa", settled=1000, settled_cnp=1000, disputes=10, disputes_cnp=10,
                       reports_cnp=20)]
    m = with_views(account("reports", []).model_copy(update={"brand_months": rows}))
    assert (m.visa_month.disputes, m.visa_month.settled) == (30, 1000)
    assert (m.worst_month.disputes, m.worst_month.settled) == (10, 1000)
    a = assess(m)
    assert "30 disputes and fraud reports of 1,000 Visa card-not-present sales" in finding(a, "network_program").reason
    assert "10 of 1000 settled charges" in finding(a, "dispute_activity").reason
