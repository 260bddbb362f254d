"""The Risk queue page: the ranked table, filters, the account's risk view, and a review through its dialogs."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from core.app.st_runtime import get_runtime
from core.app.text import NAME_LIMIT, md
from core.auth import Actor, Role
from core.risk.queue import QueueFilters, queue
from tests.pages.conftest import APP, open_app
from tests.pages.test_hostile_text import NAMES, assert_no_markup


def _db() -> duckdb.DuckDBPyConnection:
    return get_runtime().store.cursor()


def _plain(markdown: str) -> str:
    """What md() escaped, as it reads on screen."""
    return markdown.replace("\\", "").replace("\u2060", "")


def _risk(role: str = "risk"):
    at = open_app(role)
    at.switch_page("pages/risk.py").run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("role", ["support", "finance"])
def test_support_and_finance_may_not_open_it(role: str) -> None:
    at = open_app(role)
    with pytest.raises(ValueError):  # not in their navigation at all
        at.switch_page("pages/risk.py")
    direct = AppTest.from_file(str(Path(APP).parent / "pages" / "risk.py"), default_timeout=60)
    direct.session_state["actor"] = Actor(email="someone@example.com", role=Role(role))
    direct.run()  # run on its own, as Streamlit's v1 multipage mode can: the page checks access itself
    assert any("do not have access" in e.value for e in direct.error)
    assert not direct.dataframe


def test_the_queue_is_ranked_with_reasons_and_exports_csv() -> None:
    at = _risk()
    table = at.dataframe[0].value
    assert list(table.columns[:3]) == ["score", "reasons", "status"]
    scores = list(table["score"])
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    assert all(reason for reason in table["reasons"]), "every ranked account says why"
    assert any("accounts as CSV" in b.label for b in at.get("download_button"))
    assert any("accounts · highest score first" in c.value for c in at.caption)


def test_filters_narrow_the_queue() -> None:
    at = _risk()
    at.segmented_control(key="risk_lane").set_value("watch").run()  # past-due alone is rarely a case
    assert not at.exception, at.exception
    everyone = len(at.dataframe[0].value)
    at.multiselect(key="risk_signals").select("past_due").run()
    assert not at.exception, at.exception
    shown = at.dataframe[0].value if at.dataframe else []
    assert 0 < len(shown) < everyone
    assert all("past due" in reasons for reasons in shown["reasons"])
    at.multiselect(key="risk_type").select("standard").select("express").select("custom").run()
    at.multiselect(key="risk_states").unselect("new").unselect("in_review").select("actioned").run()
    assert not at.exception
    assert any("No account matches" in i.value for i in at.info) or not at.dataframe


def test_the_risk_view_has_charts_links_and_history() -> None:
    at = open_app("risk")
    # a merchant with a dispute on its own (direct) or destination charges: the demo has some on any date
    account = _db().execute("""SELECT coalesce(c.transfer_destination_id, c.account) AS merchant FROM disputes d
                               JOIN charges c ON c.id = d.charge_id WHERE merchant IS NOT NULL
                               ORDER BY merchant LIMIT 1""").fetchone()[0]
    at.query_params["account"] = account
    at.switch_page("pages/risk.py").run()
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) == 2
    links = [p for p in at.get("page_link") if "merchant page" in p.proto.label]
    assert links and links[0].proto.page.endswith("merchants") and f"account={account}" in links[0].proto.query_string
    assert [t.label for t in at.tabs] == ["Disputes", "Refunds", "Linked accounts", "Notes and decisions",
                                         "Actions taken"]
    assert any(m.value.startswith("- **+") for m in at.markdown), "the reasons, with their points"


def test_review_then_clear_through_the_dialogs() -> None:
    at = open_app("risk")
    account = _db().execute("""SELECT id FROM connected_accounts WHERE requirements_past_due_count > 0
                               ORDER BY id DESC LIMIT 1""").fetchone()[0]
    at.query_params["account"] = account
    at.switch_page("pages/risk.py").run()
    at.button(key="risk_btn_review").click().run()
    next(t for t in at.text_area if t.key == "risk_review_note").input("Looking at the past-due documents").run()
    next(b for b in at.button if b.label == "Take into review").click().run()
    assert not at.exception, at.exception
    assert any("In review by demo@connect-ops.local" in _plain(s.value) for s in at.success), \
        [e.value for e in at.error]
    at.button(key="risk_btn_clear").click().run()
    next(t for t in at.text_area if t.key == "risk_clear_note").input("Documents requested; nothing suspicious").run()
    next(b for b in at.button if b.label == "Clear").click().run()
    assert not at.exception, at.exception
    assert any("Cleared until" in _plain(s.value) for s in at.success), [e.value for e in at.error]
    states = _db().execute("SELECT from_state, to_state FROM risk_review_events WHERE account_id = ? ORDER BY id",
                           [account]).fetchall()
    assert states == [("new", "in_review"), ("in_review", "cleared")]
    actions = {r[0] for r in _db().execute("SELECT action FROM audit_log WHERE account_id = ?", [account]).fetchall()}
    assert {"risk_review", "clear_review"} <= actions
    assert any(m.value == ":green-badge[Cleared]" for m in at.markdown), "the page shows the new state"


def test_pause_and_resume_payouts_through_the_dialogs() -> None:
    at = open_app("risk")
    account = _db().execute("""SELECT id FROM connected_accounts WHERE type = 'custom' AND payouts_enabled
        AND payout_schedule_interval = 'weekly' AND requirements_disabled_reason IS NULL
        ORDER BY id LIMIT 1""").fetchone()[0]
    at.query_params["account"] = account
    at.switch_page("pages/risk.py").run()
    at.button(key="risk_btn_pause").click().run()
    assert any("payout schedule" in i.value and "manual" in i.value for i in at.info), [i.value for i in at.info]
    next(t for t in at.text_area if t.key == "risk_pause_reason").input("Refund spike, ticket RISK-7").run()
    next(b for b in at.button if b.label == "Pause now").click().run()
    assert not at.exception, at.exception
    assert any("Payouts paused with the payout schedule set to manual" in _plain(s.value) for s in at.success), \
        [e.value for e in at.error]
    assert _db().execute("SELECT payout_schedule_interval FROM connected_accounts WHERE id = ?",
                         [account]).fetchone()[0] == "manual"
    assert any(m.value == ":violet-badge[Actioned]" for m in at.markdown)
    at.button(key="risk_btn_resume").click().run()
    next(t for t in at.text_area if t.key == "risk_resume_reason").input("Merchant explained the refunds").run()
    next(b for b in at.button if b.label == "Resume now").click().run()
    assert not at.exception, at.exception
    assert any("Payouts resumed" in _plain(s.value) for s in at.success), [e.value for e in at.error]
    assert _db().execute("SELECT payout_schedule_interval FROM connected_accounts WHERE id = ?",
                         [account]).fetchone()[0] == "weekly"
    rows = _db().execute("SELECT result FROM audit_log WHERE action = 'pause_payouts' AND account_id = ?",
                         [account]).fetchall()
    assert rows == [("succeeded",), ("succeeded",)]


def test_reject_offers_the_configured_versions_reasons() -> None:
    at = open_app("risk")
    account = _db().execute("""SELECT id FROM connected_accounts WHERE type = 'express' AND charges_enabled
        AND requirements_disabled_reason IS NULL ORDER BY id DESC LIMIT 1""").fetchone()[0]
    at.query_params["account"] = account
    at.switch_page("pages/risk.py").run()
    at.button(key="risk_btn_reject").click().run()
    reasons = at.selectbox(key="risk_reject_reason")
    assert "fraud_no_intent_to_fulfill" in reasons.options or "Fraud: no intent to deliver what was sold" in \
        reasons.options, reasons.options
    assert any("can no longer take payments" in w.value for w in at.warning)
    assert not at.exception


@pytest.mark.parametrize("name", NAMES, ids=range(len(NAMES)))
def test_hostile_names_stay_text_in_the_risk_view(name: str) -> None:
    at = open_app("risk")
    account = _db().execute("SELECT id FROM connected_accounts WHERE business_name = ?", [name]).fetchone()[0]
    at.query_params["account"] = account
    at.switch_page("pages/risk.py").run()
    sources = assert_no_markup(at)  # no link, image, tag, URL or invisible character reaches markdown
    assert md(name, NAME_LIMIT) in sources


def test_hostile_names_stay_text_in_the_queue() -> None:
    at = _risk()
    at.multiselect(key="risk_states").select("cleared").select("actioned").run()
    assert_no_markup(at)


def test_my_cases_and_evidence_links() -> None:
    at = open_app("risk")
    # a watched account (something fires, not material) that nobody has taken yet
    watched = queue(_db(), QueueFilters(lanes=("watch",), review_states=("new",))).rows
    account = watched[-1].account
    at.query_params["account"] = account
    at.switch_page("pages/risk.py").run()
    at.button(key="risk_btn_review").click().run()
    next(t for t in at.text_area if t.key == "risk_review_note").input(
        "KYC file https://files.example.com/kyc/42.pdf and [x](javascript:alert(1))").run()
    next(b for b in at.button if b.label == "Take into review").click().run()
    assert not at.exception, at.exception
    links = [df.value for df in at.dataframe if "evidence" in df.value.columns]
    assert links and list(links[0]["evidence"]) == ["https://files.example.com/kyc/42.pdf"]
    mine = _risk()
    mine.toggle(key="risk_mine").set_value(True).run()
    shown_accounts, assignees = [], set()
    for lane in ("case", "watch"):  # the account is a case or watched, whichever the demo's data makes it
        mine.segmented_control(key="risk_lane").set_value(lane).run()
        assert not mine.exception, mine.exception
        for frame in mine.dataframe:
            if "assignee" in frame.value.columns:
                shown_accounts += list(frame.value["account"])
                assignees |= set(frame.value["assignee"])
    assert account in shown_accounts and assignees == {"demo@connect-ops.local"}
