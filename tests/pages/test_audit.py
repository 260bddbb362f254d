"""The audit page lists what was done, filters it, and exports it."""
from __future__ import annotations

from core import audit
from core.auth import Actor, Role
from core.app.st_runtime import get_runtime
from tests.pages.conftest import open_app


def _seed_rows() -> None:
    store = get_runtime().store
    with store.transaction() as conn:
        for email, action in (("ann@example.com", "refund"), ("bob@example.com", "login_link")):
            audit.record(conn, Actor(email=email, role=Role.SUPPORT), action, account_id="acct_audit_test",
                         target_id="ch_audit_test", params={"amount": 1200}, reason="Ticket 77 refund",
                         result="succeeded")


def test_audit_page_filters_and_exports() -> None:
    _seed_rows()
    at = open_app("admin")
    at.switch_page("pages/audit.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Audit log"
    next(s for s in at.selectbox if s.label == "Actor").select("ann@example.com").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert set(table["actor_email"]) == {"ann@example.com"}
    next(t for t in at.text_input if t.label.startswith("Search")).input("ticket 77").run()
    assert len(at.dataframe[0].value) >= 1
    assert at.get("download_button"), "CSV export is offered"
