"""After filing, on a demo platform of its own through the real SDK: a late refund changes no box (Stripe's 1099 does
not deduct refunds), the payee moving does: "Correction needed", box by box, with Stripe's correction import row."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from core.actions import Context
from core.app.runtime import run_sync
from core.auth import Actor, Role
from core.emulator.launcher import EmulatorProcess
from core.mirror.store import Store
from core.settings import Settings
from core.tax import computation, filing
from core.tax.readiness import tax_year_report
from tests.conftest import client_for

FINANCE = Actor(email="cfo@corp.com", role=Role.FINANCE)


def _season(store: Store, year: int):
    cur = store.cursor()
    return filing.with_filing(tax_year_report(cur, year), filing.filed_for_year(cur, year))


def test_a_late_refund_after_filing_and_a_payee_who_moves(fresh_emulator: EmulatorProcess, tmp_path: Path) -> None:
    settings = Settings(stripe_api_key=fresh_emulator.api_key, stripe_api_base=fresh_emulator.base_url,
                        connect_ops_db=tmp_path / "mirror.duckdb", connect_ops_max_rps=400,
                        connect_ops_max_rps_per_endpoint=400)
    with Store(settings.connect_ops_db) as store:
        run_sync(settings, store)
        year = computation.tax_years(store.cursor())[1]
        report = _season(store, year)
        sole = next(f for f in report.forms if f.display_name == "Prairie Fix-It")
        filing.mark_filed(Context(store=store, api=None), FINANCE, report, "Filed with Stripe on 20 January")  # type: ignore[arg-type]
        charge = store.cursor().execute(
            "SELECT c.id FROM charges c JOIN balance_transactions b ON b.id = c.balance_transaction_id "
            "AND b.scope = c.scope WHERE c.scope = ? AND year(b.available_on) = ? AND NOT c.refunded LIMIT 1",
            [sole.stripe_account_id, year]).fetchone()[0]
        client = client_for(fresh_emulator)
        refund = client.v1.refunds.create(params={"charge": charge}, options={"stripe_account": sole.stripe_account_id})
        run_sync(settings, store)
        assert store.cursor().execute("SELECT count(*) FROM refunds WHERE id = ?", [refund.id]).fetchone() == (1,)
        after_refund = next(f for f in _season(store, year).forms if f.stripe_account_id == sole.stripe_account_id)
        assert (after_refund.gross_amount, after_refund.correction_needed, filing.filing_words(after_refund)) == \
            (sole.gross_amount, False, "Filed")
        client.v1.accounts.update(sole.stripe_account_id, params={"company": {"address": {
            "line1": "2 Elm St", "postal_code": "75202"}}})
        run_sync(settings, store)
        moved = next(f for f in _season(store, year).forms if f.stripe_account_id == sole.stripe_account_id)
        assert (moved.correction_needed, filing.filing_words(moved), [d["box"] for d in moved.differences]) == \
            (True, "Correction needed", ["payee address"])
        assert moved.differences[0]["filed"][0] == "1500 Marilla St" and moved.differences[0]["now"][0] == "2 Elm St"
        rows = list(csv.DictReader(io.StringIO(filing.correction_csv(_season(store, year).forms))))
        assert [(r["stripe_account_id"], r["payee_address_line_1"], r["payee_postal_code"]) for r in rows] == \
            [(sole.stripe_account_id, "2 Elm St", "75202")]
