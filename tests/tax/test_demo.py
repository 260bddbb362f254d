"""The demo platform, synced over HTTP from the emulator, has what the Tax forms page needs to show every case."""
from __future__ import annotations

from core.emulator.tax_demo import TAX_DEMO_ACCOUNTS
from core.tax import computation
from core.tax.readiness import tax_year_report


def by_name(report) -> dict[str, object]:
    named = {f.display_name: f for f in report.forms}
    named.update({f.display_name: f for f in report.filed_by_stripe})
    return named


def test_us_accounts_in_several_states_with_and_without_tins_across_two_years(synced_store) -> None:
    cur = synced_store.cursor()
    current, last_full = computation.tax_years(cur)[:2]
    for year in (last_full, current):
        report = tax_year_report(cur, year)
        assert len({f.state for f in report.forms}) >= 8
        assert {f.status for f in report.forms} == {"Ready", "Needs attention", "Will not file"}
        assert {f.payee.tin for f in report.forms} >= {"ein", "ssn", "ssn_last4", "missing"}
        assert report.filed_by_stripe
    assert {spec["name"] for spec in TAX_DEMO_ACCOUNTS} <= set(by_name(tax_year_report(cur, last_full)))


def test_the_demo_cases_come_out_as_designed(synced_store) -> None:
    cur = synced_store.cursor()
    current, last_full = computation.tax_years(cur)[:2]
    forms = by_name(tax_year_report(cur, last_full))
    expect = {  # name: (status, needs attention, federal, state)
        "Jersey Shore Surf Co.": ("Needs attention", ["TIN missing"], True, True),
        "Golden Gate Goods": ("Needs attention", ["Address"], True, True),
        "Capitol Hill Books": ("Needs attention", ["Business name"], False, True),
        "Green Mountain Maple": ("Needs attention", ["TIN missing"], False, True),
        "Lone Star Tools": ("Ready", [], True, False),
        "Bunker Hill Bakery": ("Ready", [], False, True),
        "Lakeshore Prints": ("Ready", [], False, True),
        "Cascade Couriers": ("Will not file", [], False, False),
    }
    for name, (status, reasons, federal, state) in expect.items():
        got = forms[name]
        assert (got.status, got.needs_attention, got.federal_filing_required, got.state_filing_required) == \
            (status, reasons, federal, state), name
    assert forms["Bunker Hill Bakery"].payee.postal_code == "02129"
    tools = forms["Lone Star Tools"]
    assert (tools.gross_amount, tools.card_not_present_amount, tools.transaction_count) == (2_050_000, 1_950_000, 205)
    outfitters = forms["Old Line Outfitters"]  # €500.00 settled at 1.08, but no rate of the day is loaded
    assert (outfitters.gross_amount, outfitters.unconverted, outfitters.status) == \
        (10 * 6_000, {"eur": 50_000}, "Needs attention")
    assert forms["Empire Espresso"].__class__.__name__ == "FiledByStripe"
    fireworks = forms["New Year Fireworks"]  # 3 charges in the year and last year's 31 December one
    assert (fireworks.transaction_count, fireworks.monthly_amounts[0] >= 20_000) == (4, True)
    this_year = by_name(tax_year_report(cur, current))
    assert this_year["New Year Fireworks"].transaction_count == 3  # 2 + the 31 December one
    assert this_year["Lakeshore Prints"].state_filing_required is False  # 3 payments: IL needs more than 3


def _oracle(emulator, year: int) -> dict[str, tuple[int, int, int, list[int]]]:
    """Each account's (gross, card not present, count, months) computed in plain Python from the emulator's
    own objects, independently of the SQL: the rules written out once more, object by object."""
    from datetime import UTC, datetime

    from tests.mirror.test_sync import dump

    txns = {item["object"]["id"]: item["object"] for item in dump(emulator, "balance_transactions")}
    charges = {item["object"]["id"]: item for item in dump(emulator, "charges")}
    out: dict[str, list] = {}

    def add(account: str, txn: dict, method: str | None, paid_in: str) -> None:
        when = datetime.fromtimestamp(txn["available_on"], UTC)
        if when.year != year:
            return
        row = out.setdefault(account, [0, 0, 0, [0] * 12])
        row[2] += 1  # a payment counts whatever its currency
        if paid_in != "usd" or txn["currency"] != "usd":
            return  # no rates loaded: a non-USD payment is not converted (shown apart, never in the boxes)
        row[0] += txn["amount"]
        row[1] += 0 if method in ("card_present", "interac_present") else txn["amount"]
        row[3][when.month - 1] += txn["amount"]

    for item in charges.values():
        charge, scope = item["object"], item["account"]
        method = (charge.get("payment_method_details") or {}).get("type")
        if charge["status"] != "succeeded" or not charge.get("balance_transaction"):
            continue
        if scope and not charge.get("source_transfer"):  # a direct charge on the account
            add(scope, txns[charge["balance_transaction"]], method, charge["currency"])
        elif not scope and charge.get("transfer") and charge.get("transfer_data"):  # a destination charge
            add(charge["transfer_data"]["destination"], txns[charge["balance_transaction"]], method,
                charge["currency"])
    for item in dump(emulator, "transfers"):
        transfer = item["object"]
        source = charges.get(transfer.get("source_transaction") or "", {}).get("object") or {}
        if source.get("transfer") == transfer["id"]:
            continue  # counted from its destination charge
        payment = charges[transfer["destination_payment"]]["object"]
        add(transfer["destination"], txns[payment["balance_transaction"]],
            (source.get("payment_method_details") or {}).get("type"), transfer["currency"])
    return {k: (v[0], v[1], v[2], v[3]) for k, v in out.items()}


def test_every_form_equals_a_plain_python_computation_from_the_emulators_objects(synced_store, emulator) -> None:
    cur = synced_store.cursor()
    for year in computation.tax_years(cur)[:2]:
        report = tax_year_report(cur, year)
        expected = _oracle(emulator, year)
        got = {f.stripe_account_id: (f.gross_amount, f.card_not_present_amount, f.transaction_count, f.monthly_amounts)
               for f in [*report.forms]}
        assert got == {k: v for k, v in expected.items() if k in got}
        us = {f.stripe_account_id for f in report.forms} | {f.stripe_account_id for f in report.filed_by_stripe}
        us_expected = {k for k in expected if k in us}
        assert us_expected == us, "every US account with activity has a form (or is filed by Stripe)"
