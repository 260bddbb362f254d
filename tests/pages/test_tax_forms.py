"""The Tax forms page: a year's forms summarised, filtered, explained by their transactions, corrected, exported."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.app.st_runtime import get_runtime
from core.auth import Actor, Role
from core.tax import computation, export, readiness
from tests.pages.conftest import APP, open_app


def _page(role: str = "finance") -> AppTest:
    at = open_app(role)
    at.switch_page("pages/tax_forms.py").run()
    assert not at.exception, at.exception
    return at


def _forms_table(at: AppTest):
    return next(df.value for df in at.dataframe if "needs_attention" in df.value.columns)


def _downloads(at: AppTest) -> dict[str, object]:
    return {b.label: b for b in at.get("download_button")}


def _report(year: int) -> readiness.TaxYearReport:
    return readiness.tax_year_report(get_runtime().store.cursor(), year)


def test_summary_chart_table_and_exports_for_the_newest_year() -> None:
    at = _page()
    assert at.title[0].value == "Tax forms"
    year = at.selectbox(key="tax_year").value
    assert year == computation.tax_years(get_runtime().store.cursor())[0]
    report = _report(year)
    assert at.get("plotly_chart"), "accounts by status as a chart"
    assert {m.label for m in at.metric} >= {"Forms to file", "Ready", "Blocked", "Filed by Stripe"}
    table = _forms_table(at)
    assert list(table["stripe_account_id"]) == [f.stripe_account_id for f in report.forms]
    labels = _downloads(at)
    assert {"Every form (CSV)", "Download this table (CSV)", "Download transaction log (CSV)"} <= set(labels)


def test_filters_narrow_the_table() -> None:
    at = _page()
    at.multiselect(key="tax_status").select("Needs attention").run()
    table = _forms_table(at)
    assert len(table) and set(table["status"]) == {"Needs attention"}
    at.multiselect(key="tax_missing").select("TIN missing").run()
    assert all("TIN missing" in reasons for reasons in _forms_table(at)["needs_attention"])
    at.text_input(key="tax_text").input("Jersey Shore").run()
    names = list(_forms_table(at)["name"])
    assert names in ([], ["Jersey Shore Surf Co."])


def test_an_accounts_transactions_add_up_and_download() -> None:
    at = _page()
    year = computation.tax_years(get_runtime().store.cursor())[1]  # the last full year
    at.selectbox(key="tax_year").select(year).run()
    form = next(f for f in _report(year).forms if f.display_name == "Lone Star Tools")
    at.selectbox(key="tax_account").select(form.stripe_account_id).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    log = next(df.value for df in at.dataframe if "balance_transaction_id" in df.value.columns)
    assert len(log) == form.transaction_count == 205
    assert {m.label: m.value for m in at.metric}["Gross (1a)"] == "$20500.00"
    assert "Download transaction log (CSV)" in _downloads(at)
    text = export.log_csv(computation.transaction_log(get_runtime().store.cursor(), form.stripe_account_id, year))
    assert len(list(csv.DictReader(io.StringIO(text)))) == 205


def test_finance_corrects_a_form_type_and_it_is_audited() -> None:
    at = _page()
    year = at.selectbox(key="tax_year").value
    form = next(f for f in _report(year).forms if f.display_name == "Cascade Couriers")
    at.selectbox(key="tax_account").select(form.stripe_account_id).run()
    at.radio[0].set_value("nec")
    next(t for t in at.text_input if t.label.startswith("Reason") and t.key != "tax_filed_reason").input(
        "Pays couriers: 1099-NEC")
    next(b for b in at.button if b.label == "Save correction").click().run()
    assert not at.exception, at.exception
    assert any("1099-NEC" in s.value for s in at.success)
    corrected = next(f for f in _report_with_default(year) if f.stripe_account_id == form.stripe_account_id)
    assert (corrected.form_type, corrected.form_type_overridden) == ("nec", True)
    row = get_runtime().store.cursor().execute(
        "SELECT action, account_id, result FROM audit_log WHERE action = 'tax_form_override' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert row == ("tax_form_override", form.stripe_account_id, "succeeded")
    table = _forms_table(at)
    assert table[table["stripe_account_id"] == form.stripe_account_id]["form"].tolist() == ["1099-NEC"]


def _report_with_default(year: int) -> list[readiness.TaxForm]:
    return readiness.tax_year_report(get_runtime().store.cursor(), year, default_form_type="k").forms


@pytest.mark.parametrize("role", ["support", "risk"])
def test_roles_without_the_page_cannot_open_it(role: str) -> None:
    at = open_app(role)
    with pytest.raises(ValueError):  # not in their navigation at all
        at.switch_page("pages/tax_forms.py")
    direct = _direct(Actor(email="someone@example.com", role=Role(role)))
    assert any("do not have access" in e.value for e in direct.error)
    assert not direct.dataframe


def test_a_read_only_viewer_sees_the_forms_but_no_correction() -> None:
    open_app("finance")  # the demo runtime, synced
    direct = _direct(Actor(email="local", role=Role.FINANCE, read_only=True))
    assert not direct.exception and direct.dataframe
    assert not [b for b in direct.button if b.label == "Save correction"]


def _direct(actor: Actor) -> AppTest:
    """The page file run on its own, as Streamlit's v1 multipage mode can: it checks access itself."""
    direct = AppTest.from_file(str(Path(APP).parent / "pages" / "tax_forms.py"), default_timeout=300)
    direct.session_state["actor"] = actor
    return direct.run()


def test_every_year_and_method_renders() -> None:
    at = _page()
    for year in at.selectbox(key="tax_year").options:
        at.selectbox(key="tax_year").select(int(year)).run()
        for method in computation.METHODS_BY_FORM["k"]:  # payouts only is not offered for the default 1099-K
            at.selectbox(key="tax_method").select(method).run()
            assert not at.exception and not at.error, (year, method, at.exception)
    assert "payouts_only" not in computation.METHODS_BY_FORM["k"]


def test_a_year_of_data_before_the_rules_is_one_line_not_a_crash() -> None:
    """The year list comes from the data: a balance transaction of 2019 used to crash the page."""
    from core.app.st_runtime import _cached_query
    from tests.tax.conftest import Mirror, ts

    store = get_runtime().store
    txn = Mirror(store).bt("acct_from_2019", "ch_from_2019", 1_000, ts(2019, 5, 1))
    _cached_query.clear()
    try:
        at = _page()
        assert {"2019", "2022"} <= set(at.selectbox(key="tax_year").options)
        at.selectbox(key="tax_year").select(2019).run()
        assert not at.exception, at.exception
        assert [e.value for e in at.error] == ["no 1099 rules for 2019: the tables cover 2022-2026, and 2026's are "
                                               "used up to 2031."]
    finally:
        with store.transaction() as conn:
            conn.execute("DELETE FROM balance_transactions WHERE id = ?", [txn])
        _cached_query.clear()


def test_finance_marks_the_years_forms_filed_and_it_is_audited() -> None:
    at = _page()
    year = at.selectbox(key="tax_year").value
    assert {"form", "to", "due", "days_left", "not_ready"} <= set(
        next(df.value for df in at.dataframe if "days_left" in df.value.columns).columns)
    at.text_input(key="tax_filed_reason").input("Filed with Stripe today")
    next(b for b in at.button if b.label == "Mark filed").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("marked filed" in s.value for s in at.success)
    to_file = [f for f in _report(year).forms if f.status == "Ready"]
    table = _forms_table(at)
    filed = set(table[table["filed"]]["stripe_account_id"])
    assert filed == {f.stripe_account_id for f in to_file}
    row = get_runtime().store.cursor().execute(
        "SELECT result FROM audit_log WHERE action = 'tax_mark_filed' ORDER BY id DESC LIMIT 1").fetchone()
    assert row == ("succeeded",)


def test_the_filing_season_cases_show_on_the_demo() -> None:
    """NC between $600 and the federal line, a EUR-only account without a rate, a sole proprietor, and NEC forms in a
    combined-filing state (CA) and a direct-filing state (MA)."""
    at = _page()
    year = computation.tax_years(get_runtime().store.cursor())[1]
    at.selectbox(key="tax_year").select(year).run()
    table = _forms_table(at).set_index("name")
    assert (table.loc["Tar Heel Textiles", "status"], bool(table.loc["Tar Heel Textiles", "state_filing_required"])) \
        == ("Will not file", False)
    assert table.loc["Alpen Imports", "needs_attention"] == "Exchange rate missing"
    assert table.loc["Alpen Imports", "not_converted"].startswith("EUR €")
    assert (table.loc["Prairie Fix-It", "status"], table.loc["Prairie Fix-It", "tin"]) == \
        ("Ready", "Representative's SSN (sole proprietor or single-member LLC)")
    assert any("exchange rate missing" in w.value for w in at.warning)
    at.selectbox(key="tax_default_form").select("nec").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    nec = _forms_table(at).set_index("name")
    assert [(nec.loc[n, "form"], bool(nec.loc[n, "state_filing_required"]), nec.loc[n, "state_channel"])
            for n in ("Sunset Studio Services", "Back Bay Design Co.")] == [
        ("1099-NEC", True, "CFSF"), ("1099-NEC", True, "State Portal")]
