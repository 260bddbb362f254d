"""The merchant page's data: every section traceable to rows, money per currency."""
from __future__ import annotations

from core.support import merchant


def _account(store, sql: str) -> str:
    row = store.cursor().execute(sql).fetchone()
    assert row is not None
    return row[0]


def test_profile_groups_requirements_and_explains_disabled_reason(synced_store) -> None:
    account = _account(synced_store, "SELECT id FROM connected_accounts WHERE requirements_past_due_count > 0 LIMIT 1")
    profile = merchant.profile(synced_store.cursor(), account)
    assert profile is not None and profile.status == "restricted"
    urgencies = [r.urgency for r in profile.requirements]
    assert urgencies[0] == "past_due" and urgencies == sorted(urgencies, key=[
        "past_due", "currently_due", "pending_verification", "eventually_due", "future"].index)
    assert len({r.field for r in profile.requirements}) == len(profile.requirements)
    assert profile.disabled_reason_text and "past due" in profile.disabled_reason_text
    assert merchant.profile(synced_store.cursor(), "acct_nope") is None


def test_ledger_explains_the_balance(synced_store) -> None:
    account = _account(synced_store, """SELECT account FROM balance_transactions WHERE account IS NOT NULL
        GROUP BY account ORDER BY count(*) DESC LIMIT 1""")
    db = synced_store.cursor()
    # An instant among the account's availability dates, so both sides of the split hold something.
    now = _account(synced_store, f"""SELECT quantile_disc(available_on, 0.5) FROM balance_transactions
        WHERE account = '{account}'""")
    rows = merchant.ledger(db, account, limit=100_000, now=now)
    per_currency: dict[str, int] = {}
    available: dict[str, int] = {}
    for row in reversed(rows):
        per_currency[row["currency"]] = per_currency.get(row["currency"], 0) + row["net"]
        assert row["balance_after"] == per_currency[row["currency"]]
        if row["status"] == "available":
            available[row["currency"]] = available.get(row["currency"], 0) + row["net"]
    balances = merchant.balances(db, account, now=now)
    assert {b["currency"]: b["available"] + b["pending"] for b in balances} == per_currency
    assert {b["currency"]: b["available"] for b in balances} == {c: available.get(c, 0) for c in per_currency}
    assert 0 < sum(r["status"] == "available" for r in rows) < len(rows)


def test_charges_cover_every_flow_of_the_merchant(synced_store) -> None:
    destination = _account(synced_store, """SELECT transfer_destination_id FROM charges
        WHERE transfer_destination_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1""")
    rows = merchant.charges(synced_store.cursor(), destination, limit=100_000)
    assert rows and {r["flow"] for r in rows} <= {"destination", "separate"}
    assert all(not r["id"].startswith("py_") for r in rows)
    direct = _account(synced_store, """SELECT account FROM charges WHERE account IS NOT NULL AND
        source_transfer_id IS NULL GROUP BY 1 LIMIT 1""")
    assert {r["flow"] for r in merchant.charges(synced_store.cursor(), direct)} == {"direct"}


def test_shared_bank_fingerprints_are_found_both_ways(synced_store) -> None:
    rows = synced_store.cursor().execute("""
        SELECT id, unnest(json_extract_string(raw, '$.external_accounts.data[*].fingerprint')) AS fp
        FROM connected_accounts""").fetchall()
    by_fp: dict[str, list[str]] = {}
    for account, fp in rows:
        by_fp.setdefault(fp, []).append(account)
    a, b = next(ids for ids in by_fp.values() if len(ids) > 1)[:2]
    assert b in {r["id"] for r in merchant.shared_bank_accounts(synced_store.cursor(), a)}
    assert a in {r["id"] for r in merchant.shared_bank_accounts(synced_store.cursor(), b)}


def test_failed_payouts_and_disputes_reach_their_merchant(synced_store) -> None:
    account = _account(synced_store, "SELECT account FROM payouts WHERE status = 'failed' AND account IS NOT NULL LIMIT 1")
    failed = [p for p in merchant.payouts(synced_store.cursor(), account) if p["status"] == "failed"]
    assert failed and failed[0]["failure_message"]
    (dispute_charge,) = synced_store.cursor().execute(
        "SELECT charge_id FROM disputes WHERE account IS NULL LIMIT 1").fetchone()
    (dest,) = synced_store.cursor().execute("""SELECT coalesce(c.transfer_destination_id, t.destination_id)
        FROM charges c LEFT JOIN transfers t ON t.source_transaction_id = c.id WHERE c.id = ?""",
                                            [dispute_charge]).fetchone()
    assert dispute_charge in {d["charge_id"] for d in merchant.disputes(synced_store.cursor(), dest)}
