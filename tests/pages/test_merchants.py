"""The merchants page: lookup, deep link, the whole story, and an action through its dialog."""
from __future__ import annotations

import duckdb
import pytest

from core.app.st_runtime import get_runtime
from tests.pages.conftest import open_app


def _db() -> duckdb.DuckDBPyConnection:
    return get_runtime().store.cursor()


def _merchants(role: str = "support"):
    at = open_app(role)
    at.switch_page("pages/merchants.py").run()
    assert not at.exception, at.exception
    return at


def test_search_by_email_lists_the_merchant() -> None:
    at = _merchants()
    account, email = _db().execute("SELECT id, email FROM connected_accounts WHERE email IS NOT NULL LIMIT 1").fetchone()
    at.text_input(key="merchant_query").input(email.upper()).run()
    assert not at.exception
    assert any(account in m.value for m in at.markdown), "the account is listed"
    assert any(b.key == f"open_{account}" for b in at.button)


@pytest.mark.parametrize("odd", ["%", "'; DROP TABLE connected_accounts;--", "🌸", "a", "\\"])
def test_odd_input_is_a_hint_not_an_error(odd: str) -> None:
    at = _merchants()
    at.text_input(key="merchant_query").input(odd).run()
    assert not at.exception
    assert not at.error
    assert _db().execute("SELECT count(*) FROM connected_accounts").fetchone()[0] > 0


def test_deep_link_opens_the_merchant_page() -> None:
    at = open_app("risk")
    account, name = _db().execute("""SELECT id, business_name FROM connected_accounts
        WHERE requirements_past_due_count > 0 LIMIT 1""").fetchone()
    at.query_params["account"] = account
    at.switch_page("pages/merchants.py").run()
    assert not at.exception, at.exception
    assert at.subheader[0].value == name
    assert any("Past due" in m.value for m in at.markdown)
    assert any("past due" in w.value for w in at.warning)
    assert [t.label for t in at.tabs][:3] == ["Charges", "Payouts", "Ledger"]
    assert all(b.disabled for b in at.button if b.label in ("Refund a charge", "Payout schedule")), \
        "risk may look but not refund"


def test_unknown_account_in_link_is_a_message() -> None:
    at = open_app("support")
    at.query_params["account"] = "acct_doesnotexist"
    at.switch_page("pages/merchants.py").run()
    assert not at.exception
    assert any("No connected account" in e.value for e in at.error)


def test_payout_schedule_through_the_dialog_changes_stripe_and_the_page() -> None:
    at = open_app("support")
    account = _db().execute("""SELECT id FROM connected_accounts WHERE type = 'express'
        AND payout_schedule_interval = 'daily' LIMIT 1""").fetchone()[0]
    at.query_params["account"] = account
    at.switch_page("pages/merchants.py").run()
    next(b for b in at.button if b.label == "Payout schedule").click().run()
    interval = next(s for s in at.selectbox if s.label == "Interval")
    interval.select("monthly").run()
    next(t for t in at.text_area if t.key == "reason_schedule").input("Merchant asked for monthly payouts").run()
    next(b for b in at.button if b.label == "Change schedule").click().run()
    assert not at.exception, at.exception
    assert any("monthly" in s.value for s in at.success), [e.value for e in at.error]
    assert _db().execute("SELECT payout_schedule_interval FROM connected_accounts WHERE id = ?",
                         [account]).fetchone()[0] == "monthly"
    row = _db().execute("SELECT actor_email, result, reason FROM audit_log WHERE action = 'payout_schedule' "
                        "AND account_id = ?", [account]).fetchone()
    assert row == ("demo@connect-ops.local", "succeeded", "Merchant asked for monthly payouts")
    assert any("monthly" in m.value for m in at.markdown), "the page shows the new state"


def test_refund_through_the_dialog_once_even_if_clicked_twice() -> None:
    at = open_app("support")
    account, charge_id, amount, currency = _db().execute("""
        SELECT transfer_destination_id, id, amount, currency FROM charges
        WHERE transfer_destination_id IS NOT NULL AND status = 'succeeded' AND amount_refunded = 0 AND NOT disputed
          AND currency = 'usd' AND amount > 500 ORDER BY created DESC LIMIT 1""").fetchone()
    at.query_params["account"] = account
    at.switch_page("pages/merchants.py").run()
    next(b for b in at.button if b.label == "Refund a charge").click().run()
    next(s for s in at.selectbox if s.label == "Charge").select(charge_id).run()
    next(t for t in at.text_input if t.key == "refund_amount").input("5.00").run()
    assert any("Refund $5.00 of charge" in i.value for i in at.info), [i.value for i in at.info]
    next(t for t in at.text_area if t.key == "reason_refund").input("Ticket 991: damaged item").run()
    confirm = next(b for b in at.button if b.label == "Refund $5.00")
    confirm.click().run()
    assert not at.exception, at.exception
    assert any("Refunded $5.00" in s.value for s in at.success), [e.value for e in at.error]
    assert _db().execute("SELECT amount_refunded FROM charges WHERE id = ?", [charge_id]).fetchone()[0] == 500
    # the same refund again (a double click that reached the server twice) does not act twice
    next(b for b in at.button if b.label == "Refund a charge").click().run()
    next(s for s in at.selectbox if s.label == "Charge").select(charge_id).run()
    next(t for t in at.text_input if t.key == "refund_amount").input("5.00").run()
    next(t for t in at.text_area if t.key == "reason_refund").input("Ticket 991: damaged item").run()
    next(b for b in at.button if b.label == "Refund $5.00").click().run()
    assert any("Already done" in s.value for s in at.success), [s.value for s in at.success]
    assert _db().execute("SELECT amount_refunded FROM charges WHERE id = ?", [charge_id]).fetchone()[0] == 500
    assert _db().execute("SELECT count(*) FROM refunds WHERE charge_id = ?", [charge_id]).fetchone()[0] == 1
