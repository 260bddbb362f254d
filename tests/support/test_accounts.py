"""The accounts list: every filter, sort and page checked against sums computed here, in Python, from the
mirror's rows (the demo seed changes, so no counts are written down), plus a tiny hand-made mirror whose
answers are known (several currencies, every dispute path, `py_` payments, a failed charge)."""
from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.account_status import STATUSES, account_status
from core.clock import utc_now
from core.mirror.schema import to_timestamp
from core.mirror.store import Store
from core.overview.metrics import OPEN_DISPUTE_STATUSES
from core.support import merchant
from core.support.accounts import (
    PAGE_SIZES,
    REQUIREMENT_STATES,
    SORTS,
    AccountFilters,
    AccountRow,
    accounts_csv,
    accounts_page,
    accounts_rows,
)

NOW = utc_now().replace(microsecond=0)


# --------------------------------------------------------------------------- independent answers


def _raw_accounts(db) -> dict[str, dict[str, Any]]:
    return {i: json.loads(r) for i, r in db.execute("SELECT id, raw FROM connected_accounts").fetchall()}


def _requirement_state(account: dict[str, Any]) -> str:
    req = account.get("requirements") or {}
    for state in REQUIREMENT_STATES[:-1]:
        if req.get(state):
            return state
    return "none"


def _balances(db) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for account, currency, net in db.execute(
            "SELECT account, currency, net FROM balance_transactions WHERE account IS NOT NULL").fetchall():
        out[account][currency] += net
    return out


def _volumes(db, days: int, now: datetime) -> tuple[dict[str, dict[str, int]], dict[str, datetime]]:
    """What buyers paid each merchant in the period, per currency, and its last sale (any time)."""
    volume: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    last: dict[str, datetime] = {}
    rows = db.execute("SELECT id, account, transfer_destination_id, status, currency, amount, created "
                      "FROM charges").fetchall()
    for cid, account, destination, status, currency, amount, created in rows:
        if status != "succeeded" or cid.startswith("py_"):
            continue
        merchant_id = account or destination
        if merchant_id is None:
            continue
        last[merchant_id] = max(last.get(merchant_id, created), created)
        if now - timedelta(days=days) <= created < now:
            volume[merchant_id][currency] += amount
    return volume, last


def _failed_payouts(db) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for account, status in db.execute("SELECT account, status FROM payouts").fetchall():
        if account and status == "failed":
            out[account] += 1
    return out


def _open_disputes(db) -> dict[str, int]:
    charges = {i: (a, d) for i, a, d in db.execute(
        "SELECT id, account, transfer_destination_id FROM charges WHERE id LIKE 'ch%'").fetchall()}
    transferred: dict[str, set[str]] = defaultdict(set)
    for source, destination, account in db.execute(
            "SELECT source_transaction_id, destination_id, account FROM transfers").fetchall():
        if source and destination and account is None:
            transferred[source].add(destination)
    out: dict[str, set[str]] = defaultdict(set)
    for did, account, charge, status in db.execute(
            "SELECT id, account, charge_id, status FROM disputes").fetchall():
        if status not in OPEN_DISPUTE_STATUSES:
            continue
        if account:
            out[account].add(did)
            continue
        charge_account, destination = charges.get(charge, (None, None))
        if charge_account is None and destination:
            out[destination].add(did)
        for target in transferred.get(charge, ()):
            out[target].add(did)
    return {k: len(v) for k, v in out.items()}


def _ids(rows: list[AccountRow]) -> list[str]:
    return [r.id for r in rows]


def _fold(text: str | None) -> str | None:
    if text is None:
        return None
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn")


def _expected_order(rows: list[AccountRow], sort: str, descending: bool) -> list[str]:
    """The documented order, by stable sorts from the last key to the first."""
    def by(key, ordered: list[AccountRow], reverse: bool) -> list[AccountRow]:
        present = [r for r in ordered if key(r) is not None]
        return sorted(present, key=key, reverse=reverse) + [r for r in ordered if key(r) is None]

    ordered = sorted(rows, key=lambda r: r.id)
    single = {"status": lambda r: STATUSES.index(r.status), "business_name": lambda r: _fold(r.business_name),
              "id": lambda r: r.id, "country": lambda r: r.country, "type": lambda r: r.type,
              "created": lambda r: r.created, "deadline": lambda r: r.deadline,
              "failed_payouts": lambda r: r.failed_payouts, "open_disputes": lambda r: r.open_disputes,
              "last_charge": lambda r: r.last_charge}
    if sort in single:
        ordered = by(single[sort], ordered, descending)
    elif sort == "requirements_due":
        ordered = by(lambda r: r.past_due, ordered, descending)
        ordered = by(lambda r: r.requirements_due, ordered, descending)
    else:  # money: currency first (never comparing amounts of two currencies), then the amount
        ordered = by(lambda r: getattr(r, sort).get(r.default_currency), ordered, descending)
        ordered = by(lambda r: r.default_currency, ordered, False)
    return _ids(ordered)


# --------------------------------------------------------------------------- against the synced demo


def test_every_account_with_its_figures(synced_store) -> None:
    db = synced_store.cursor()
    rows = accounts_rows(db, AccountFilters(period_days=90), now=NOW)
    raw = _raw_accounts(db)
    assert sorted(_ids(rows)) == sorted(raw), "every connected account, once"
    balances, failed, disputes = _balances(db), _failed_payouts(db), _open_disputes(db)
    volume, last = _volumes(db, 90, NOW)
    for row in rows:
        account = raw[row.id]
        assert row.status == account_status(account)
        assert row.business_name == (account.get("business_profile") or {}).get("name")
        assert (row.country, row.type) == (account["country"], account["type"])
        assert row.balance == dict(balances.get(row.id, {}))
        assert row.volume == dict(volume.get(row.id, {}))
        assert row.last_charge == last.get(row.id)
        assert row.failed_payouts == failed.get(row.id, 0)
        assert row.open_disputes == disputes.get(row.id, 0)
        req = account["requirements"]
        assert (row.requirements_due, row.past_due) == (len(req["currently_due"]), len(req["past_due"]))
        deadline = req.get("current_deadline")
        assert row.deadline == (to_timestamp(deadline))


def test_balance_is_the_merchant_pages_balance(synced_store) -> None:
    db = synced_store.cursor()
    for row in accounts_rows(db, AccountFilters(), now=NOW)[:10]:
        shown = {b["currency"]: (b["available"] or 0) + b["pending"] for b in merchant.balances(db, row.id, NOW)}
        assert row.balance == shown


def _filtered(db, **fields: Any) -> set[str]:
    return set(_ids(accounts_rows(db, AccountFilters(**fields), now=NOW)))


def test_each_filter_keeps_exactly_the_accounts_it_names(synced_store) -> None:
    db = synced_store.cursor()
    raw = _raw_accounts(db)
    everyone = set(raw)
    for status in STATUSES:
        assert _filtered(db, status=(status,)) == {i for i, a in raw.items() if account_status(a) == status}
    assert _filtered(db, status=("restricted", "enabled")) == {
        i for i, a in raw.items() if account_status(a) in ("restricted", "enabled")}
    for country in {a["country"] for a in raw.values()}:
        assert _filtered(db, country=(country,)) == {i for i, a in raw.items() if a["country"] == country}
    for kind in {a["type"] for a in raw.values()}:
        assert _filtered(db, type=(kind,)) == {i for i, a in raw.items() if a["type"] == kind}
    for state in REQUIREMENT_STATES:
        assert _filtered(db, requirements=(state,)) == {i for i, a in raw.items() if _requirement_state(a) == state}
    assert _filtered(db, failed_payouts=True) == set(_failed_payouts(db)) & everyone
    assert _filtered(db, open_disputes=True) == set(_open_disputes(db)) & everyone
    assert _filtered(db, negative_balance=True) == {
        i for i, per in _balances(db).items() if any(v < 0 for v in per.values())} & everyone
    key, value = "signup_channel", next(a["metadata"]["signup_channel"] for a in raw.values()
                                        if a["metadata"].get("signup_channel"))
    assert _filtered(db, metadata_key=key, metadata_value=value) == {
        i for i, a in raw.items() if a["metadata"].get(key) == value}
    assert _filtered(db, metadata_key=key) == {i for i, a in raw.items() if key in a["metadata"]}
    # filters combine with AND
    some = next(iter(raw.values()))
    assert _filtered(db, country=(some["country"],), type=(some["type"],)) == {
        i for i, a in raw.items() if a["country"] == some["country"] and a["type"] == some["type"]}
    # and they do filter: the demo has accounts of several statuses and countries
    assert _filtered(db, status=("enabled",)) < everyone
    assert _filtered(db, country=(some["country"],)) < everyone


def test_input_is_data_not_sql(synced_store) -> None:
    db = synced_store.cursor()
    for odd in ("'; DROP TABLE connected_accounts;--", "%", "_", "\\", "🌸", "a' OR '1'='1"):
        assert _filtered(db, metadata_key="signup_channel", metadata_value=odd) == set()
        assert _filtered(db, metadata_key=odd) == set()
    assert db.execute("SELECT count(*) FROM connected_accounts").fetchone()[0] > 0


@pytest.mark.parametrize("sort", list(SORTS))
def test_sorting_on_every_column_both_ways(synced_store, sort: str) -> None:
    db = synced_store.cursor()
    for descending in (False, True):
        rows = accounts_rows(db, AccountFilters(sort=sort, descending=descending, period_days=365), now=NOW)
        assert _ids(rows) == _expected_order(rows, sort, descending), (sort, descending)


def test_pages_cover_the_list_once_and_count_it(synced_store) -> None:
    db = synced_store.cursor()
    filters = AccountFilters(sort="business_name", descending=False, page_size=PAGE_SIZES[0])
    everything = _ids(accounts_rows(db, filters, now=NOW))
    first = accounts_page(db, filters, now=NOW)
    assert first.total == len(everything) and first.pages == -(-len(everything) // PAGE_SIZES[0])
    seen: list[str] = []
    for number in range(1, first.pages + 1):
        page = accounts_page(db, filters.model_copy(update={"page": number}), now=NOW)
        assert page.page == number and page.total == len(everything)
        assert len(page.rows) <= filters.page_size
        seen += _ids(page.rows)
    assert seen == everything
    past_the_end = accounts_page(db, filters.model_copy(update={"page": first.pages + 5}), now=NOW)
    assert past_the_end.page == first.pages and _ids(past_the_end.rows) == everything[-len(past_the_end.rows):]
    nothing = accounts_page(db, AccountFilters(metadata_key="no such key", page=3), now=NOW)
    assert (nothing.total, nothing.rows, nothing.page, nothing.pages) == (0, [], 3, 1)


def test_csv_has_every_filtered_account_and_minor_units_per_currency(synced_store) -> None:
    db = synced_store.cursor()
    filters = AccountFilters(status=("enabled", "restricted"), period_days=365)
    rows = accounts_rows(db, filters, now=NOW)
    table = list(csv.DictReader(io.StringIO(accounts_csv(rows, 365))))
    assert [r["id"] for r in table] == _ids(rows)
    for line, row in zip(table, rows):
        for currency, amount in row.balance.items():
            assert int(line[f"balance_{currency}_minor"]) == amount
        for currency, amount in row.volume.items():
            assert int(line[f"volume_{currency}_minor"]) == amount
        assert line["status"] == row.status_label and line["volume_period_days"] == "365"


# --------------------------------------------------------------------------- the URL


def test_query_params_round_trip() -> None:
    filters = AccountFilters(status=("restricted", "in_review"), country=("US", "FR"), type=("express",),
                             requirements=("past_due", "none"), failed_payouts=True, open_disputes=True,
                             negative_balance=True, metadata_key="note", metadata_value="a, b & c=d",
                             period_days=90, sort="volume", descending=False, page=3, page_size=100)
    params = filters.to_query_params()
    assert all(isinstance(v, str) for v in params.values())
    assert AccountFilters.from_query_params(params) == filters
    assert AccountFilters().to_query_params() == {}, "the default view has a bare URL"
    assert AccountFilters.from_query_params({}) == AccountFilters()


class _RepeatedKeys(dict):
    """Like st.query_params: `get` gives the last value, `get_all` every value of a repeated key."""

    def get_all(self, key: str) -> list[str]:
        value = self.get(key)
        return [] if value is None else list(value) if isinstance(value, list) else [value]


def test_repeated_keys_are_lists_too() -> None:
    got = AccountFilters.from_query_params(_RepeatedKeys(status=["restricted", "enabled"], country=["us", "GB,FR"]))
    assert got.status == ("restricted", "enabled") and got.country == ("US", "GB", "FR")


@pytest.mark.parametrize("params", [
    {"status": "bogus"}, {"status": ""}, {"country": "USA"}, {"country": "1"}, {"type": "DROP TABLE"},
    {"requirements": "soon"}, {"failed_payouts": "maybe"}, {"period": "12"}, {"period": "abc"}, {"period": "-7"},
    {"sort": "raw; DROP TABLE connected_accounts"}, {"sort": "amount"}, {"dir": "sideways"}, {"page": "0"},
    {"page": "-2"}, {"page": "x"}, {"page": "²"}, {"page": "99999999999999999999"}, {"page_size": "7"},
    {"page_size": "1000000"}, {"meta_key": "k" * 41}, {"meta_key": "   "}, {"meta_value": "orphan value"},
])
def test_bad_url_values_fall_back_to_defaults(params: dict[str, str]) -> None:
    assert AccountFilters.from_query_params(params) == AccountFilters()


def test_bad_values_are_dropped_one_by_one() -> None:
    got = AccountFilters.from_query_params({"status": "bogus,restricted", "country": "usa,fr", "period": "7",
                                            "page": "nope", "sort": "volume", "dir": "ASC"})
    assert got == AccountFilters(status=("restricted",), country=("FR",), period_days=7, sort="volume",
                                 descending=False)


def test_direct_construction_refuses_bad_values() -> None:
    for bad in ({"status": ("bogus",)}, {"sort": "raw"}, {"period_days": 3}, {"page": 0}, {"page_size": 7},
                {"country": ("USA",)}, {"metadata_key": "k" * 41}):
        with pytest.raises(ValueError):
            AccountFilters(**bad)


# --------------------------------------------------------------------------- a mirror whose answers are known


def _at(days_ago: float) -> int:
    return int((NOW - timedelta(days=days_ago) - datetime(1970, 1, 1)).total_seconds())


def _account(account_id: str, country: str, kind: str, currency: str, name: str, *, metadata: dict | None = None,
             **requirements: Any) -> dict[str, Any]:
    req = {"currently_due": [], "past_due": [], "eventually_due": [], "pending_verification": [],
           "current_deadline": None, "disabled_reason": None, **requirements}
    reason = req["disabled_reason"] or ""
    return {"id": account_id, "object": "account", "created": _at(400), "country": country, "type": kind,
            "default_currency": currency, "business_profile": {"name": name}, "email": f"{account_id}@example.com",
            "charges_enabled": not reason.startswith(("requirements.past_due", "rejected")),
            "payouts_enabled": not reason, "details_submitted": True, "requirements": req,
            "metadata": metadata or {}}


def _charge(cid: str, currency: str, amount: int, days_ago: float, status: str = "succeeded",
            destination: str | None = None, source_transfer: str | None = None) -> dict[str, Any]:
    return {"id": cid, "object": "charge", "created": _at(days_ago), "currency": currency, "amount": amount,
            "status": status, "source_transfer": source_transfer,
            "transfer_data": {"destination": destination} if destination else None}


def _txn(tid: str, currency: str, net: int, available_in_days: float) -> dict[str, Any]:
    return {"id": tid, "object": "balance_transaction", "created": _at(3), "currency": currency, "amount": net,
            "fee": 0, "net": net, "type": "charge", "available_on": _at(-available_in_days)}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    """A: US, balances in USD and EUR (EUR negative), direct charges in two currencies, a failed charge,
    a failed payout, an open and a lost dispute. B: FR, past due, destination charge, `py_` payment,
    dispute on the destination charge. C: GB, being verified, a separate charge's dispute reaches it
    through its transfer. D: JP, nothing at all."""
    store = Store(Path(tmp_path_factory.mktemp("tiny")) / "tiny.duckdb")
    a, b, c, d = "acct_1A", "acct_1B", "acct_1C", "acct_1D"
    with store.transaction() as conn:
        store.upsert(conn, "connected_accounts", "", [
            _account(a, "US", "express", "usd", "=HYPERLINK(\"http://evil\")", metadata={"tier": "gold", "n": "a,b"}),
            _account(b, "FR", "custom", "eur", "Café Müller", metadata={"tier": "silver"}, past_due=["x"],
                     currently_due=["x", "y"], disabled_reason="requirements.past_due"),
            _account(c, "GB", "standard", "gbp", "Ça Va Bistro", pending_verification=["doc"],
                     disabled_reason="requirements.pending_verification"),
            _account(d, "JP", "express", "jpy", "株式会社さくら商店", eventually_due=["z"]),
        ])
        store.upsert(conn, "charges", a, [_charge("ch_a1", "usd", 1_000, 2), _charge("ch_a2", "eur", 500, 3),
                                          _charge("ch_a3", "usd", 7_000, 100),
                                          _charge("ch_a4", "usd", 9_999, 1, status="failed")])
        store.upsert(conn, "charges", b, [_charge("py_b1", "eur", 1_800, 5, source_transfer="tr_b")])
        store.upsert(conn, "charges", "", [_charge("ch_b", "eur", 2_000, 5, destination=b),
                                           _charge("ch_c", "gbp", 3_000, 6)])
        store.upsert(conn, "transfers", "", [
            {"id": "tr_b", "object": "transfer", "created": _at(5), "amount": 1_800, "currency": "eur",
             "destination": b, "source_transaction": "ch_b"},
            {"id": "tr_c", "object": "transfer", "created": _at(6), "amount": 3_000, "currency": "gbp",
             "destination": c, "source_transaction": "ch_c"}])
        store.upsert(conn, "disputes", a, [
            {"id": "dp_a1", "object": "dispute", "created": _at(1), "charge": "ch_a1", "status": "needs_response",
             "amount": 1_000, "currency": "usd"},
            {"id": "dp_a2", "object": "dispute", "created": _at(1), "charge": "ch_a2", "status": "lost",
             "amount": 500, "currency": "eur"}])
        store.upsert(conn, "disputes", "", [
            {"id": "dp_b", "object": "dispute", "created": _at(1), "charge": "ch_b", "status": "warning_under_review",
             "amount": 2_000, "currency": "eur"},
            {"id": "dp_c", "object": "dispute", "created": _at(1), "charge": "ch_c", "status": "needs_response",
             "amount": 3_000, "currency": "gbp"}])
        store.upsert(conn, "payouts", a, [{"id": "po_a", "object": "payout", "created": _at(2), "status": "failed",
                                           "amount": 100, "currency": "usd"}])
        store.upsert(conn, "payouts", b, [{"id": "po_b", "object": "payout", "created": _at(2), "status": "paid",
                                           "amount": 100, "currency": "eur"}])
        store.upsert(conn, "payouts", "", [{"id": "po_p", "object": "payout", "created": _at(2),
                                            "status": "failed", "amount": 100, "currency": "usd"}])
        store.upsert(conn, "balance_transactions", a, [_txn("txn_a1", "usd", 1_234, -1), _txn("txn_a2", "eur", -100, -1)])
        store.upsert(conn, "balance_transactions", b, [_txn("txn_b1", "eur", 2_000, 2), _txn("txn_b2", "eur", -500, -1)])
        store.upsert(conn, "balance_transactions", "", [_txn("txn_p", "usd", 99_999, -1)])
    yield store
    store.close()


def _by_id(store: Store, **fields: Any) -> dict[str, AccountRow]:
    return {r.id: r for r in accounts_rows(store.cursor(), AccountFilters(**fields), now=NOW)}


def test_known_figures_per_currency_never_summed(tiny: Store) -> None:
    rows = _by_id(tiny)
    a, b, c, d = (rows[f"acct_1{x}"] for x in "ABCD")
    assert a.balance == {"usd": 1_234, "eur": -100} and a.balance_text == "EUR -1.00 · USD 12.34"
    assert a.volume == {"usd": 1_000, "eur": 500}, "30 days: not the old charge, not the failed one"
    assert _by_id(tiny, period_days=365)["acct_1A"].volume == {"usd": 8_000, "eur": 500}
    assert _by_id(tiny, period_days=7)["acct_1A"].volume == {"usd": 1_000, "eur": 500}
    assert a.last_charge == to_timestamp(_at(2)), "the last succeeded charge"
    assert (a.failed_payouts, a.open_disputes) == (1, 1), "platform payouts and lost disputes are not its own"
    assert b.volume == {"eur": 2_000}, "the destination charge, never the py_ payment it made"
    assert b.balance == {"eur": 1_500} and b.open_disputes == 1 and b.failed_payouts == 0
    assert (b.status, b.requirements_due, b.past_due) == ("restricted", 2, 1)
    assert c.volume == {} and c.open_disputes == 1, "a separate charge's dispute reaches it by its transfer"
    assert c.status == "in_review"
    assert (d.balance, d.volume, d.last_charge, d.balance_text, d.volume_text) == ({}, {}, None, "—", "—")


def test_known_filters(tiny: Store) -> None:
    def ids(**fields: Any) -> set[str]:
        return set(_by_id(tiny, **fields))

    assert ids(negative_balance=True) == {"acct_1A"}
    assert ids(failed_payouts=True) == {"acct_1A"}
    assert ids(open_disputes=True) == {"acct_1A", "acct_1B", "acct_1C"}
    assert ids(requirements=("past_due",)) == {"acct_1B"}
    assert ids(requirements=("pending_verification",)) == {"acct_1C"}
    assert ids(requirements=("eventually_due", "none")) == {"acct_1D", "acct_1A"}
    assert ids(metadata_key="tier", metadata_value="gold") == {"acct_1A"}
    assert ids(metadata_key="n", metadata_value="a,b") == {"acct_1A"}
    assert ids(metadata_key="tier") == {"acct_1A", "acct_1B"}
    assert ids(country=("JP", "GB")) == {"acct_1C", "acct_1D"}
    assert ids(status=("in_review",), country=("GB",)) == {"acct_1C"}


def test_money_sorts_by_currency_then_amount(tiny: Store) -> None:
    rows = accounts_rows(tiny.cursor(), AccountFilters(sort="balance", descending=True), now=NOW)
    assert [r.default_currency for r in rows] == ["eur", "gbp", "jpy", "usd"]


def test_csv_neutralises_formulas_and_keeps_minor_units(tiny: Store) -> None:
    rows = accounts_rows(tiny.cursor(), AccountFilters(sort="id", descending=False), now=NOW)
    table = list(csv.DictReader(io.StringIO(accounts_csv(rows, 30))))
    first = table[0]
    assert first["business_name"].startswith("'="), "a merchant's name never runs as a spreadsheet formula"
    assert (first["balance_usd_minor"], first["balance_eur_minor"]) == ("1234", "-100")
    assert first["balance"] == "EUR -1.00 · USD 12.34"
    assert table[3]["balance_usd_minor"] == "" and table[3]["business_name"] == "株式会社さくら商店"


def test_figures_follow_every_write(tmp_path: Path) -> None:
    """The per-account figures are cached per data version: each write to a table they read shows at once."""
    store = Store(tmp_path / "changing.duckdb")

    def write(table: str, scope: str, obj: dict[str, Any]) -> None:
        with store.transaction() as conn:
            store.upsert(conn, table, scope, [obj])

    def row(**fields: Any) -> AccountRow | None:
        rows = accounts_rows(store.cursor(), AccountFilters(**fields), now=NOW)
        return rows[0] if rows else None

    write("connected_accounts", "", _account("acct_1X", "US", "express", "usd", "X"))
    assert row().balance == {} and row(negative_balance=True) is None
    write("balance_transactions", "acct_1X", _txn("txn_x", "usd", 500, -1))
    assert row().balance == {"usd": 500}
    write("balance_transactions", "acct_1X", _txn("txn_x", "usd", -700, -1))  # the same object, replaced
    assert row().balance == {"usd": -700} and row(negative_balance=True) is not None
    write("charges", "acct_1X", _charge("ch_x", "usd", 2_500, 1))
    assert row().volume == {"usd": 2_500}
    write("payouts", "acct_1X", {"id": "po_x", "object": "payout", "created": _at(1), "status": "failed",
                                 "amount": 1, "currency": "usd"})
    assert row(failed_payouts=True).failed_payouts == 1
    write("disputes", "acct_1X", {"id": "dp_x", "object": "dispute", "created": _at(1), "charge": "ch_x",
                                  "status": "needs_response", "amount": 2_500, "currency": "usd"})
    assert row(open_disputes=True).open_disputes == 1
    write("connected_accounts", "", _account("acct_1X", "US", "express", "usd", "X", past_due=["doc"],
                                             currently_due=["doc"], disabled_reason="requirements.past_due"))
    assert row(requirements=("past_due",)).status == "restricted"
    store.close()
