"""core.support.lookup against the session's synced small demo (read-only: `synced_store.cursor()` only)."""
from __future__ import annotations

import pytest

from core.support.lookup import LookupResult, lookup


@pytest.fixture(scope="module")
def cur(synced_store):
    return synced_store.cursor()


def one(cur, sql: str, *params):
    row = cur.execute(sql, list(params)).fetchone()
    assert row is not None, f"the demo has no row for: {sql}"
    return row


def accounts_of(result: LookupResult) -> list[str]:
    return [m.account_id for m in result.matches]


def top(cur, query: str):
    result = lookup(cur, query)
    assert result.hint is None, result.hint
    assert result.matches, (query, result.notes)
    return result.matches[0]


# --------------------------------------------------------------------------- ids of every kind


def test_account_id_exact_and_prefix(cur):
    (acct,) = one(cur, "SELECT id FROM connected_accounts ORDER BY id LIMIT 1 OFFSET 7")
    m = top(cur, acct)
    assert (m.account_id, m.kind, m.matched_field, m.via_object_id) == (acct, "id", "id", None)
    m = top(cur, acct[:10])
    assert m.account_id == acct and m.kind == "id_prefix"


def test_direct_charge(cur):
    ch, acct = one(cur, "SELECT id, account FROM charges WHERE account IS NOT NULL AND id LIKE 'ch\\_%' ESCAPE '\\' "
                        "ORDER BY id LIMIT 1")
    m = top(cur, ch)
    assert (m.account_id, m.via_object_id, m.matched_field) == (acct, ch, "charge (direct)")


def test_destination_charge(cur):
    ch, dest = one(cur, "SELECT id, transfer_destination_id FROM charges WHERE account IS NULL "
                        "AND transfer_destination_id IS NOT NULL ORDER BY id LIMIT 1")
    m = top(cur, ch)
    assert (m.account_id, m.via_object_id, m.matched_field) == (dest, ch, "charge (destination)")


def test_separate_charge_reaches_merchant_through_its_transfer(cur):
    ch, tr, dest = one(cur, "SELECT c.id, t.id, t.destination_id FROM charges c JOIN transfers t "
                            "ON t.source_transaction_id = c.id WHERE c.account IS NULL "
                            "AND c.transfer_destination_id IS NULL ORDER BY c.id LIMIT 1")
    m = top(cur, ch)
    assert (m.account_id, m.path) == (dest, [ch, tr])


def test_payment_in_account_scope(cur):
    py, acct = one(cur, "SELECT id, account FROM charges WHERE id LIKE 'py\\_%' ESCAPE '\\' ORDER BY id LIMIT 1")
    assert top(cur, py).account_id == acct


def test_transfer(cur):
    tr, dest = one(cur, "SELECT id, destination_id FROM transfers ORDER BY id LIMIT 1")
    m = top(cur, tr)
    assert (m.account_id, m.via_object_id) == (dest, tr)


def test_connected_account_payout(cur):
    po, acct = one(cur, "SELECT id, account FROM payouts WHERE account IS NOT NULL ORDER BY id LIMIT 1")
    assert top(cur, po).account_id == acct


def test_platform_payout_is_no_merchant_and_says_so(cur):
    (po,) = one(cur, "SELECT id FROM payouts WHERE account IS NULL ORDER BY id LIMIT 1")
    result = lookup(cur, po)
    assert result.hint is None and result.matches == []
    assert any("platform payout" in n for n in result.notes)


def test_platform_refund_through_its_charge(cur):
    re_id, dest = one(cur, "SELECT r.id, c.transfer_destination_id FROM refunds r JOIN charges c ON c.id = r.charge_id "
                           "WHERE r.account IS NULL AND c.transfer_destination_id IS NOT NULL ORDER BY r.id LIMIT 1")
    m = top(cur, re_id)
    assert m.account_id == dest and m.path[:2] == [re_id, m.path[1]] and m.path[1].startswith("ch_")
    assert m.matched_field == "refund -> charge (destination)"


def test_payment_refund_in_account_scope(cur):
    pyr, acct = one(cur, "SELECT id, account FROM refunds WHERE id LIKE 'pyr\\_%' ESCAPE '\\' ORDER BY id LIMIT 1")
    assert top(cur, pyr).account_id == acct


def test_every_dispute_resolves(cur):
    disputes = cur.execute("SELECT id, account FROM disputes ORDER BY id").fetchall()
    assert disputes
    for dp, account in disputes:
        m = top(cur, dp)
        assert m.via_object_id == dp and m.path[0] == dp
        if account:  # a direct charge's dispute lives on the merchant's own account
            assert m.account_id == account
        else:  # a platform charge's dispute reaches the merchant through the charge
            assert m.path[1].startswith("ch_")


def test_application_fee(cur):
    fee, acct = one(cur, "SELECT id, account_id FROM application_fees ORDER BY id LIMIT 1")
    assert top(cur, fee).account_id == acct


def test_balance_transactions_in_account_scope_and_platform_via_source(cur):
    txn, acct = one(cur, "SELECT id, account FROM balance_transactions WHERE account IS NOT NULL ORDER BY id LIMIT 1")
    assert top(cur, txn).account_id == acct
    txn, tr, dest = one(cur, "SELECT b.id, t.id, t.destination_id FROM balance_transactions b JOIN transfers t "
                             "ON t.id = b.source_id WHERE b.account IS NULL ORDER BY b.id LIMIT 1")
    m = top(cur, txn)
    assert (m.account_id, m.path) == (dest, [txn, tr])


def test_bank_account_id(cur):
    acct, ba = one(cur, "SELECT id, raw->>'$.external_accounts.data[0].id' FROM connected_accounts ORDER BY id LIMIT 1")
    m = top(cur, ba)
    assert (m.account_id, m.kind, m.via_object_id) == (acct, "id", ba)


def test_charge_id_prefix_lists_its_merchant(cur):
    ch, dest = one(cur, "SELECT id, transfer_destination_id FROM charges WHERE transfer_destination_id IS NOT NULL "
                        "ORDER BY id LIMIT 1 OFFSET 3")
    result = lookup(cur, ch[:9])
    assert dest in accounts_of(result)
    assert all(m.kind == "id_prefix" for m in result.matches if m.score >= 900)


def test_unknown_id_says_so(cur):
    result = lookup(cur, "ch_ZZZZZZZZZZnotthere")
    assert result.matches == [] and any("no synced charge" in n for n in result.notes)


# --------------------------------------------------------------------------- text


def test_email_case_insensitive(cur):
    acct, email = one(cur, "SELECT id, email FROM connected_accounts ORDER BY id LIMIT 1 OFFSET 3")
    m = top(cur, email.upper())
    assert (m.account_id, m.kind, m.matched_field, m.matched_value) == (acct, "exact", "email", email)


def test_name_with_accents_typed_without_them(cur):
    acct = one(cur, "SELECT id FROM connected_accounts WHERE business_name = 'Café Müller'")[0]
    assert top(cur, "cafe muller").account_id == acct
    assert top(cur, "CAFÉ MÜL").account_id == acct
    zoe = one(cur, "SELECT id FROM connected_accounts WHERE business_name LIKE 'Zoë%'")[0]
    m = next(m for m in lookup(cur, "zoe").matches if m.account_id == zoe)
    assert m.matched_field == "business_name" and m.kind == "prefix"
    assert top(cur, "unicode empor").account_id == zoe  # a partial word inside the name


def test_words_in_any_order(cur):
    acct = one(cur, "SELECT id FROM connected_accounts WHERE business_name = 'Café Müller'")[0]
    assert acct in accounts_of(lookup(cur, "muller cafe"))


def test_metadata_value(cur):
    acct, user = one(cur, "SELECT id, raw->>'$.metadata.platform_user_id' FROM connected_accounts WHERE raw->>'$.metadata.platform_user_id' IS NOT NULL ORDER BY id LIMIT 1")
    m = top(cur, user)
    assert (m.account_id, m.matched_field, m.kind) == (acct, "metadata.platform_user_id", "exact")


def test_shared_fingerprint_returns_every_account(cur):
    fp, accounts = one(cur, """
        SELECT fp, list(id ORDER BY id) FROM (
            SELECT id, unnest(json_extract_string(raw, '$.external_accounts.data[*].fingerprint')) AS fp
            FROM connected_accounts)
        GROUP BY fp HAVING count(DISTINCT id) > 1 ORDER BY fp LIMIT 1""")
    result = lookup(cur, fp)
    exact = sorted(m.account_id for m in result.matches if m.kind == "exact")
    assert exact == accounts
    assert all(m.matched_field == "external_account.fingerprint" for m in result.matches if m.kind == "exact")


def test_exact_ranks_before_partial(cur):
    # "Little Ceramics" style names share words; the exact name must come before partial ones
    name, n = one(cur, "SELECT business_name, count(*) FROM connected_accounts GROUP BY 1 ORDER BY 2, 1 LIMIT 1")
    word = name.split()[-1]
    result = lookup(cur, name)
    kinds = [m.kind for m in result.matches]
    assert kinds[0] == "exact"
    assert kinds == sorted(kinds, key=["exact", "prefix", "word_prefix", "contains", "all_words"].index)
    scores = [m.score for m in result.matches]
    assert scores == sorted(scores, reverse=True)
    assert len(lookup(cur, word).matches) >= n


def test_id_match_ranks_above_text(cur):
    acct, user = one(cur, "SELECT id, raw->>'$.metadata.platform_user_id' FROM connected_accounts WHERE raw->>'$.metadata.platform_user_id' IS NOT NULL ORDER BY id LIMIT 1")
    result = lookup(cur, acct)
    assert result.matches[0].account_id == acct and result.matches[0].score > 100


def test_limit(cur):
    result = lookup(cur, "example", limit=5)
    assert len(result.matches) == 5 and result.truncated


# --------------------------------------------------------------------------- odd input


@pytest.mark.parametrize("query", ["", "   ", "a", "%", "_", "'", "\\", "%%", "__", "''", "--", "🌸", None])
def test_unsearchable_input_gets_a_hint(cur, query):
    result = lookup(cur, query)
    assert result.hint and result.matches == []


@pytest.mark.parametrize("query", ["'; DROP TABLE connected_accounts;--", "100%", "a_b", "o'reilly\\", "%_%_",
                                   "\" OR 1=1 --", "🌸🌸", "x" * 300])
def test_odd_input_is_literal_and_harmless(cur, query):
    before = cur.execute("SELECT count(*) FROM connected_accounts").fetchone()
    result = lookup(cur, query)
    assert result.matches == [] or result.hint is None
    assert cur.execute("SELECT count(*) FROM connected_accounts").fetchone() == before
    if query in ("100%", "%_%_"):  # wildcards would match everything if they reached a LIKE
        assert result.matches == []


def test_wildcards_match_literally(cur):
    # an underscore is literal: "usr_1" finds platform user ids, "usr%1" nothing
    assert lookup(cur, "usr_1").matches
    assert lookup(cur, "usr%1").matches == []
    assert top(cur, "O'Reilly").business_name.startswith("O'Reilly")


def test_emoji_inside_text_matches_literally(cur):
    zoe = one(cur, "SELECT id FROM connected_accounts WHERE business_name LIKE 'Zoë%'")[0]
    assert top(cur, "Emporium 🌸").account_id == zoe


def test_fragment_from_the_middle_of_an_id(cur):
    ch, dest = one(cur, "SELECT id, transfer_destination_id FROM charges WHERE transfer_destination_id IS NOT NULL "
                        "AND regexp_matches(substr(id, 8, 8), '[0-9]') ORDER BY id LIMIT 1")
    result = lookup(cur, ch[7:15])
    m = next(m for m in result.matches if m.account_id == dest)
    assert (m.kind, m.via_object_id) == ("id_fragment", ch)
