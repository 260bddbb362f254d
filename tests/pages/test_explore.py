"""The SQL explorer page (AppTest): a starter query's table and chart, refusals in words, saved queries by URL,
the schema browser, every run audited; support never sees it. (Here rather than in tests/explore/: page tests
share this folder's one demo runtime.)"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.app.st_runtime import get_runtime
from core.auth import Actor, Role
from core.explore import saved
from core.explore.run import AUDIT_ACTION
from tests.pages.conftest import APP, open_app


def _plain(markdown: str) -> str:
    return markdown.replace("\\", "").replace("\u2060", "")


def _explorer(role: str = "risk") -> AppTest:
    at = open_app(role)
    at.switch_page("pages/explore.py").run()
    assert not at.exception, at.exception
    return at


def _run_starter(at: AppTest, key: str) -> AppTest:
    at.selectbox(key="explore_pick_starter").select(key).run()
    assert not at.exception, at.exception
    at.button(key="explore_run").click().run()
    assert not at.exception, at.exception
    return at


def _audit_rows(since: int) -> list[tuple]:
    return get_runtime().store.cursor().execute(
        "SELECT actor_role, target_id, params, result, error FROM audit_log WHERE id > ? AND action = ? ORDER BY id",
        [since, AUDIT_ACTION]).fetchall()


def _last_audit_id() -> int:
    return get_runtime().store.cursor().execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchall()[0][0]


@pytest.mark.parametrize("role", ["risk", "finance", "admin"])
def test_a_starter_query_shows_its_table_and_chart(role: str) -> None:
    at = _explorer(role)
    since = _last_audit_id()
    _run_starter(at, "gmv_by_month")
    assert "gmv_major" in at.text_area(key="explore_sql").value
    table = at.dataframe[0].value
    assert list(table.columns) == ["month", "currency", "sales", "gmv", "gmv_major"] and len(table) > 0
    assert any(c.value.startswith(f"{len(table)} rows in ") for c in at.caption), [c.value for c in at.caption]
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    figure = json.loads(charts[0].proto.spec)
    assert {trace["type"] for trace in figure["data"]} == {"scatter"}  # lines, one per currency
    assert len(figure["data"]) == table["currency"].nunique()
    assert at.selectbox(key="explore_x_1").value == "month" and at.selectbox(key="explore_color_1").value == "currency"
    assert any("Download CSV" in b.label for b in at.get("download_button"))
    rows = _audit_rows(since)
    assert [(r[0], r[1], r[3]) for r in rows] == [(role, "gmv_by_month", "succeeded")]
    assert json.loads(rows[0][2])["rows"] == len(table)


def test_the_chart_follows_the_pickers() -> None:
    at = _run_starter(_explorer(), "disputes_by_card_country")
    at.selectbox(key="explore_y_1").select("lost").run()
    at.selectbox(key="explore_kind_1").select("scatter").run()
    assert not at.exception, at.exception
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert figure["data"][0]["mode"] == "markers" and figure["layout"]["yaxis"]["title"]["text"] == "lost"


def test_refused_and_failing_queries_say_why_and_are_audited() -> None:
    at = _explorer()
    since = _last_audit_id()
    for sql, words in [("DELETE FROM charges", "Refused: DELETE statements are refused"),
                       ("SELECT * FROM read_csv('/etc/passwd')", "Refused: the table function read_csv() is refused"),
                       ("SELECT * FROM audit_log", "Refused: audit_log is not a table the explorer reads"),
                       ("SELECT no_such_column FROM charges", "Failed: Binder Error")]:
        at.text_area(key="explore_sql").input(sql).run()
        at.button(key="explore_run").click().run()
        assert not at.exception, at.exception
        assert any(_plain(e.value).startswith(words) for e in at.error), [e.value for e in at.error]
        assert not at.get("plotly_chart")
    assert [r[3] for r in _audit_rows(since)] == ["denied", "denied", "denied", "failed"]


def test_a_saved_query_opens_from_its_url_and_can_be_saved_from_the_page() -> None:
    store = get_runtime().store
    query = saved.save(store, Actor(email="fin@finance.example", role=Role.FINANCE), "Accounts per country",
                       "SELECT country, count(*) AS accounts FROM connected_accounts GROUP BY 1 ORDER BY 2 DESC",
                       "How many merchants we have where")
    get_runtime().writes += 1
    at = open_app("risk")
    at.query_params["query"] = query.id
    at.switch_page("pages/explore.py").run()
    assert not at.exception, at.exception
    assert at.text_area(key="explore_sql").value == query.sql
    assert any("Accounts per country" in _plain(m.value) for m in at.markdown)
    assert any(c.value.endswith(f"?query={query.id}") for c in at.code)
    assert not [b for b in at.button if b.label == "Save changes" and not b.disabled], "not risk's to change"

    at.button(key="explore_run").click().run()
    assert at.dataframe[0].value.columns.tolist() == ["country", "accounts"]
    at.text_input(key=f"explore_save_name_{query.id}").input("Risk's copy")
    at.button(key="FormSubmitter:explore_save-Save as a new query").click().run()
    assert not at.exception, at.exception
    assert any("Saved as" in s.value for s in at.success), [e.value for e in at.error]
    mine = [q for q in saved.list_queries(store.cursor()) if q.name == "Risk's copy"]
    assert len(mine) == 1 and mine[0].owner_email == at.session_state["actor"].email and mine[0].sql == query.sql
    assert at.query_params["query"] == [mine[0].id] or at.query_params["query"] == mine[0].id


def test_the_schema_browser_lists_tables_columns_and_examples() -> None:
    at = _explorer("finance")
    tables = next(d.value for d in at.dataframe if "meaning" in d.value.columns and "table" in d.value.columns)
    assert "charges" in set(tables["table"]) and "audit_log" not in set(tables["table"])
    at.selectbox(key="explore_schema_table").select("payouts").run()
    columns = next(d.value for d in at.dataframe if "column" in d.value.columns)
    assert {"failure_code", "destination_id", "raw"} <= set(columns["column"]) and columns["meaning"].all()


def test_support_cannot_open_the_explorer() -> None:
    at = open_app("support")
    with pytest.raises(ValueError):  # not in their navigation at all
        at.switch_page("pages/explore.py")
    direct = AppTest.from_file(str(Path(APP).parent / "pages" / "explore.py"), default_timeout=60)
    direct.session_state["actor"] = Actor(email="agent@support.example", role=Role.SUPPORT)
    direct.run()  # run on its own, as Streamlit's v1 multipage mode can: the page checks access itself
    assert any("do not have access" in e.value for e in direct.error)
    assert not direct.text_area and not direct.dataframe


def test_issue_19_attacks_on_the_page_leak_nothing_and_never_crash() -> None:
    """The nested-comment EXPLAIN printed note bodies on the page too; an infinite date raised out of the run."""
    at = _explorer()
    store = get_runtime().store
    get_runtime().wait_for_first_sync()
    account = store.cursor().execute("SELECT id FROM connected_accounts LIMIT 1").fetchall()[0][0]
    with store.transaction() as conn:
        conn.execute("INSERT INTO account_notes (account_id, created_at, author_email, body) "
                     "VALUES (?, now(), 'canary@x', 'CANARY-page-19')", [account])
    since = _last_audit_id()
    attack = ("/* /* */ EXPLAIN SELECT ' */ EXPLAIN ANALYZE SELECT c.id FROM charges c JOIN account_notes n "
              "ON c.description = n.author_email || n.body -- '")
    for sql in (attack, "SELECT currval('audit_log_id')", "SELECT id, 'infinity'::date AS d FROM charges LIMIT 2"):
        at.text_area(key="explore_sql").input(sql).run()
        at.button(key="explore_run").click().run()
        assert not at.exception, at.exception
        shown = " ".join(str(e.value) for e in [*at.error, *at.markdown, *at.code]) + " ".join(
            df.value.to_csv() for df in at.dataframe)
        assert "CANARY-page-19" not in shown
    assert [r[3] for r in _audit_rows(since)] == ["denied", "denied", "succeeded"]


@pytest.mark.parametrize("value", ["", "q_nope", "x" * 5000, "ü🙂", "' OR 1=1 --", "../../etc/passwd", "<b>x</b>",
                                   "disputes_by_card_country"])
def test_any_query_url_parameter_is_a_page(value: str) -> None:
    at = open_app("risk")
    at.query_params["query"] = value
    at.switch_page("pages/explore.py").run()
    assert not at.exception, at.exception
