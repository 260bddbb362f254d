"""The filing season: forms marked filed keep their figures, a later change reads "Correction needed" box by box,
every change of a filed form is audited (refusals too), and the deadlines calendar counts the days from a fixed day."""
from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest

from core.actions import ActionFailed, Context
from core.auth import Actor, PermissionDenied, Role
from core.tax import deadlines, filing
from core.tax.readiness import tax_year_report
from tests.tax.conftest import Mirror, many_direct_charges, ts

FINANCE = Actor(email="cfo@corp.com", role=Role.FINANCE)
SUPPORT = Actor(email="agent@corp.com", role=Role.SUPPORT)


def report(mirror: Mirror, year: int = 2025, form_type: str = "k"):
    cur = mirror.store.cursor()
    base = tax_year_report(cur, year, default_form_type=form_type)  # type: ignore[arg-type]
    return filing.with_filing(base, filing.filed_for_year(cur, year))


def ctx(mirror: Mirror) -> Context:
    return Context(store=mirror.store, api=None)  # type: ignore[arg-type]  # filing never calls Stripe


def audit_rows(mirror: Mirror) -> list[tuple]:
    return mirror.store.cursor().execute(
        "SELECT action, result, params FROM audit_log WHERE action = 'tax_mark_filed' ORDER BY id").fetchall()


def form_of(rep, account: str):
    return next(f for f in rep.forms if f.stripe_account_id == account)


def test_mark_filed_freezes_the_figures_and_a_late_payment_needs_a_correction(mirror: Mirror) -> None:
    acct = mirror.account(state="MA", postal="02139")
    mirror.direct_charge(acct, 70_000, ts(2025, 3, 1))
    result = filing.mark_filed(ctx(mirror), FINANCE, report(mirror), "Filed with Stripe on 20 January")
    assert "1 2025 form marked filed" in result.message and result.audit_id
    filed = form_of(report(mirror), acct)
    assert (filed.filed_amounts["gross_amount"], filed.correction_needed, filing.filing_words(filed)) == \
        (70_000, False, "Filed")
    mirror.direct_charge(acct, 5_000, ts(2025, 11, 2))  # synced after filing: a payment of the year
    later = form_of(report(mirror), acct)
    assert (later.correction_needed, later.filed_amounts["gross_amount"], later.gross_amount) == (True, 70_000, 75_000)
    boxes = {d["box"]: (d["filed"], d["now"]) for d in later.differences}
    assert boxes["gross (1a / 1 / 3)"] == (70_000, 75_000) and boxes["month 11 (5k)"] == (0, 5_000)
    assert boxes["payment transactions (3)"] == (1, 2) and boxes["state income"] == (70_000, 75_000)
    rows = list(csv.DictReader(io.StringIO(filing.correction_csv(report(mirror).forms))))
    assert [(r["stripe_account_id"], r["november_amount"], r["state_income"]) for r in rows] == \
        [(acct, "50.00", "750.00")]
    assert [(a, r) for a, r, _ in audit_rows(mirror)] == [("tax_mark_filed", "succeeded")]


def test_a_late_refund_needs_no_correction_refunds_are_not_deducted(mirror: Mirror) -> None:
    """Stripe's 1099 reports gross amounts: a refund after filing changes no box."""
    acct = mirror.account(state="TX")
    charge = mirror.direct_charge(acct, 2_010_000, ts(2025, 3, 1))
    filing.mark_filed(ctx(mirror), FINANCE, report(mirror), "Filed with Stripe on 20 January", account_ids=[acct])
    refund_txn = mirror.bt(acct, "re_late", -500_000, ts(2026, 2, 10), type="refund")
    mirror.put("refunds", acct, {"id": "re_late", "object": "refund", "amount": 500_000, "currency": "usd",
                                 "charge": charge, "balance_transaction": refund_txn, "created": ts(2026, 2, 8)})
    now = form_of(report(mirror), acct)
    assert (now.gross_amount, now.correction_needed, filing.filing_words(now)) == (2_010_000, False, "Filed")


def test_a_changed_address_and_the_correction_filed_are_both_audited(mirror: Mirror) -> None:
    acct = mirror.account(state="MA", postal="02139", line1="1 Kendall Sq", account_id="acct_moves")
    mirror.direct_charge(acct, 70_000, ts(2025, 3, 1))
    filing.mark_filed(ctx(mirror), FINANCE, report(mirror), "Filed with Stripe on 20 January")
    mirror.account(state="MA", postal="02140", line1="9 Porter Sq", account_id="acct_moves")  # the payee moved
    moved = form_of(report(mirror), acct)
    assert moved.correction_needed and [d["box"] for d in moved.differences] == ["payee address"]
    result = filing.mark_filed(ctx(mirror), FINANCE, report(mirror), "Correction filed with Stripe",
                               account_ids=[acct])
    assert "1 of them replacing filed figures" in result.message
    assert not form_of(report(mirror), acct).correction_needed
    last = json.loads(audit_rows(mirror)[-1][2])
    assert last["refiled"] == [acct] and last["refiled_before"][acct]["payee_address"][0] == "1 Kendall Sq"


def test_refusals_are_audited_before_any_input_is_judged(mirror: Mirror) -> None:
    acct = mirror.account()
    mirror.direct_charge(acct, 70_000, ts(2025, 3, 1))
    with pytest.raises(PermissionDenied):
        filing.mark_filed(ctx(mirror), SUPPORT, report(mirror), "Trying", account_ids=["acct_nobody"])
    assert [(a, r) for a, r, _ in audit_rows(mirror)] == [("tax_mark_filed", "denied")]
    with pytest.raises(ActionFailed, match="have no 2025 form"):
        filing.mark_filed(ctx(mirror), FINANCE, report(mirror), "From the file", account_ids=["acct_nobody"])
    assert filing.filed_for_year(mirror.store.cursor(), 2025) == {}


def test_the_rows_of_an_import_file(mirror: Mirror) -> None:
    text = "stripe_account_id,form_type\nacct_1,k\n\nacct_2,k\n"
    assert filing.accounts_in_import(text) == ["acct_1", "acct_2"]
    for bad, words in (("form_type\nk\n", "no stripe_account_id column"), ("stripe_account_id\n\n", "no rows")):
        with pytest.raises(ActionFailed, match=words):
            filing.accounts_in_import(bad)


def test_deadlines_per_form_and_state_with_days_left(mirror: Mirror) -> None:
    """2025's forms, seen on 15 January 2026. 31 Jan 2026 and 28 Feb 2026 are Saturdays (next Monday); MD is 30 days
    before the IRS e-file date (1 March, a Sunday: 2 March), VT 30 days after (30 April), NC 31 March."""
    for state in ("MD", "VT", "NC"):
        mirror.direct_charge(mirror.account(state=state, tin=state != "NC"), 2_010_000, ts(2025, 3, 1))
    many_direct_charges(mirror, mirror.account(state="NC"), [10_000] * 201, ts(2025, 4, 1))
    got = {(d.form, d.to): (d.due, d.days_left, d.forms, d.not_ready)
           for d in deadlines.calendar(report(mirror), date(2026, 1, 15))}
    assert got[("1099-K", "Payees")] == (date(2026, 2, 2), 18, 3, 0)  # MD and VT ($600), the NC one over the line
    assert got[("1099-K", "IRS on paper")][0] == date(2026, 3, 2)
    assert got[("1099-K", "IRS e-filed")][0] == date(2026, 3, 31)
    assert got[("1099-K", "MD (State Portal)")][:3] == (date(2026, 3, 2), 46, 1)
    assert got[("1099-K", "VT (State Portal)")][0] == date(2026, 4, 30)
    assert got[("1099-K", "NC (State Portal)")] == (date(2026, 3, 31), 75, 1, 0)  # only the form above the IRS line
    nec = deadlines.calendar(report(mirror, form_type="nec"), date(2026, 1, 15))
    assert {(d.to, d.due) for d in nec if d.to.startswith(("Payees", "IRS"))} == {
        ("Payees", date(2026, 2, 2)), ("IRS (paper or e-filed)", date(2026, 2, 2))}
