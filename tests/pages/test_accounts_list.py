"""The Merchants page before any search: the connected accounts list, its filters in the URL, the export."""
from __future__ import annotations

import json

import duckdb

from core.account_status import LABELS, account_status
from core.app.st_runtime import get_runtime
from tests.pages.conftest import open_app


def _db() -> duckdb.DuckDBPyConnection:
    return get_runtime().store.cursor()


def _accounts() -> dict[str, dict]:
    return {i: json.loads(r) for i, r in _db().execute("SELECT id, raw FROM connected_accounts").fetchall()}


def _merchants(role: str = "support", **params: str):
    at = open_app(role)  # waits for the demo's first sync: these tests compare with the whole mirror
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page("pages/merchants.py").run()
    assert not at.exception, at.exception
    return at


def _table(at):
    tables = [df for df in at.dataframe if "business_name" in df.value.columns]
    assert len(tables) == 1, "the accounts list is on the page"
    return tables[0].value


def _total(at) -> int:
    caption = next(c.value for c in at.caption if " accounts · page " in c.value)
    return int(caption.split(" accounts")[0].replace(",", ""))


def test_the_list_shows_without_a_query() -> None:
    at = _merchants()
    table = _table(at)
    accounts = _accounts()
    assert _total(at) == len(accounts)
    assert len(table) == min(50, len(accounts)) and set(table["id"]) <= set(accounts)
    for _, row in table.iterrows():
        assert row["status"] == [LABELS[account_status(accounts[row["id"]])]]
        assert row["business_name"] == (accounts[row["id"]].get("business_profile") or {}).get("name")
    created = [accounts[i]["created"] for i in table["id"]]
    assert created == sorted(created, reverse=True), "newest accounts first by default"
    assert any(getattr(e, "label", "").startswith("Export") for e in at.get("download_button")), "CSV export button"


def test_setting_filters_puts_them_in_the_url() -> None:
    at = _merchants()
    at.multiselect(key="accounts_status").select("restricted").run()
    at.checkbox(key="accounts_negative_balance").check().run()
    at.selectbox(key="accounts_sort").select("business_name").run()
    at.toggle(key="accounts_desc").set_value(False).run()
    assert not at.exception, at.exception
    assert at.query_params["status"] == "restricted"
    assert at.query_params["negative_balance"] == "1"
    assert (at.query_params["sort"], at.query_params["dir"]) == ("business_name", "asc")
    accounts = _accounts()
    shown = set(_table(at)["id"]) if _total(at) else set()
    negative = {r[0] for r in _db().execute("""SELECT account FROM balance_transactions WHERE account IS NOT NULL
        GROUP BY account, currency HAVING sum(net) < 0""").fetchall()}
    assert shown == {i for i, a in accounts.items() if account_status(a) == "restricted" and i in negative}
    at.multiselect(key="accounts_status").unselect("restricted").run()
    assert "status" not in at.query_params, "a cleared filter leaves the URL"


def test_opening_the_page_with_a_view_in_the_url_applies_it() -> None:
    accounts = _accounts()
    country = max({a["country"] for a in accounts.values()},
                  key=lambda c: sum(a["country"] == c for a in accounts.values()))
    at = _merchants(country=country, sort="business_name", dir="asc", page_size="25")
    assert at.multiselect(key="accounts_country").value == [country]
    assert at.selectbox(key="accounts_sort").value == "business_name"
    assert at.toggle(key="accounts_desc").value is False
    table = _table(at)
    expected = {i for i, a in accounts.items() if a["country"] == country}
    assert _total(at) == len(expected) and set(table["country"]) == {country}
    assert len(table) == min(25, len(expected))
    assert at.query_params["country"] == country, "the URL keeps the view"


def test_pages_move_on_and_stay_in_the_url() -> None:
    at = _merchants(page_size="25")
    if _total(at) <= 25:  # the demo is too small to page
        return
    first = list(_table(at)["id"])
    next(b for b in at.button if b.key == "accounts_next").click().run()
    assert at.query_params["page"] == "2"
    assert not set(_table(at)["id"]) & set(first)
    at.multiselect(key="accounts_type").select("express").run()
    assert "page" not in at.query_params, "new filters start at the first page"


def test_bad_values_in_the_url_fall_back() -> None:
    at = _merchants(status="bogus", page="-4", sort="raw; DROP TABLE x", period="13", country="not a country")
    assert not at.error
    assert _total(at) == len(_accounts())
    assert not {"status", "page", "sort", "period", "country"} & set(at.query_params)


def test_a_search_replaces_the_list_and_a_deep_link_skips_it() -> None:
    at = _merchants()
    at.text_input(key="merchant_query").input("example").run()
    assert not [df for df in at.dataframe if "business_name" in df.value.columns]
    account = next(iter(_accounts()))
    at = _merchants(account=account)
    assert not [df for df in at.dataframe if "business_name" in df.value.columns]
