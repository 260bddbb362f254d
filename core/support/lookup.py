"""Find merchants (connected accounts) from anything a support agent may paste.

    lookup(cursor, "ch_3Nx")          -> LookupResult(matches=[Match(account_id=..., via_object_id="ch_3Nx...")])
    lookup(cursor, "cafe muller")     -> the account named "Café Müller"
    lookup(cursor, "%")               -> LookupResult(hint="Type at least 2 letters or digits ...")

Two searches run for every query and are merged, best first:

* **Ids.** A known Stripe prefix (acct_, ch_, py_, tr_, po_, re_, pyr_, dp_, du_, fee_, txn_, ba_, evt_)
  is looked up exactly, then as a prefix (at least ``MIN_ID_TAIL`` characters after the underscore);
  a bare fragment of ``MIN_FRAGMENT`` or more letters/digits is looked for inside ids. Each object found
  is followed to its merchant (a charge through its scope, ``transfer_data.destination`` or the transfer
  whose ``source_transaction`` it is; refunds and disputes through their charge; platform balance
  transactions through their source; ...). Platform-only objects (a platform payout, a charge never
  transferred) reach no merchant: the result says so in ``notes``.
* **Text** over each account's business name, email, support email, url, company name, the
  individual's names, every metadata value and its external accounts' fingerprints and ids: case- and
  accent-insensitive, ranked exact > prefix > word-prefix > contains > all words somewhere. DuckDB
  extracts these fields; they are folded once into an in-process index per database and data version
  (see `_text_index`), so a keystroke costs a substring scan, not a re-fold of every account.

User input only ever reaches DuckDB as a bound parameter; matching uses ``=``, ``starts_with``,
``contains`` and id ranges, never LIKE patterns or regexes built from input, so ``%``, ``_``, quotes,
backslashes and SQL fragments are matched literally. Every function takes a DuckDB connection or
cursor first (pages wrap them in a cache as ``fn(cursor, *args)``); nothing here imports Streamlit.
"""
from __future__ import annotations

import re
import threading
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import duckdb
from pydantic import BaseModel, Field

from core.mirror.schema import TABLE_BY_ID_PREFIX, TABLES

DEFAULT_LIMIT = 20
MAX_QUERY_CHARS = 200
MIN_CHARS = 2          # letters or digits a query needs
MIN_ID_TAIL = 2        # characters after "ch_" before a prefix search runs
MIN_FRAGMENT = 6       # letters/digits of a bare fragment searched inside ids
CANDIDATES = 50        # objects per table followed to their merchant for one partial id
# Tables with more rows than this are searched by id prefix only, never by a fragment in the middle
# of their ids (a `contains` scan of every id of a multi-million-row table costs too much per keystroke).
FRAGMENT_SCAN_MAX_ROWS = 250_000

Kind = Literal["id", "id_prefix", "id_fragment", "exact", "prefix", "word_prefix", "contains", "all_words"]

SCORES: dict[str, int] = {"id": 1000, "id_prefix": 900, "id_fragment": 850, "exact": 100, "prefix": 80,
                          "word_prefix": 60, "contains": 40, "all_words": 20}


class Match(BaseModel):
    """One merchant and why it matched."""

    account_id: str
    business_name: str | None = None
    email: str | None = None
    country: str | None = None
    type: str | None = None
    matched_field: str                 # "id", "charge (destination)", "email", "metadata.platform_user_id", ...
    matched_value: str                 # the stored value (or object id) that matched
    via_object_id: str | None = None   # the object the input named when it was not the account itself
    path: list[str] = Field(default_factory=list)  # object ids followed from the input to the account
    kind: Kind
    score: float
    in_mirror: bool = True             # False: an object points at an account that is not synced (yet)


class LookupResult(BaseModel):
    query: str
    hint: str | None = None            # set instead of matches when the input cannot be searched
    matches: list[Match] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)  # e.g. "po_... is a platform payout: no merchant"
    truncated: bool = False            # more matched than `limit`, or a partial id matched many objects


# --------------------------------------------------------------------------- input


_FOLD = str.maketrans({"ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ß": "ss", "æ": "ae",
                       "Æ": "ae", "œ": "oe", "Œ": "oe", "þ": "th", "ı": "i", "’": "'", "‘": "'"})


def fold(text: str) -> str:
    """How queries and indexed values are compared: lower case, no accents (é->e, ü->u), ø->o, ß->ss..."""
    text = text.lower().translate(_FOLD)
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def check_query(query: str | None) -> str | None:
    """A hint for input that cannot be searched, or None."""
    text = (query or "").strip()
    if not text:
        return "Type an id (acct_, ch_, py_, tr_, po_, re_, dp_, fee_, txn_, ba_...), an email, a business name, a " \
               "platform user id or a bank fingerprint."
    if len(text) > MAX_QUERY_CHARS:
        return f"That is too long to be an id, email or name (at most {MAX_QUERY_CHARS} characters)."
    letters = sum(1 for c in text if c.isalnum())
    if letters == 0:
        return "Type at least 2 letters or digits: punctuation or symbols alone match everything or nothing."
    if letters < MIN_CHARS:
        return "Type at least 2 letters or digits."
    return None


# --------------------------------------------------------------------------- ids

ID_PREFIXES: dict[str, str] = {  # Stripe prefix -> the table that resolves it
    **{prefix: table.name for prefix, table in TABLE_BY_ID_PREFIX.items()}, "ba": "external_accounts",
}
_ID_RE = re.compile(r"^([a-z]+)_([A-Za-z0-9]*)$")
_FRAGMENT_RE = re.compile(r"^[A-Za-z0-9]+$")
_OBJECT_LABEL = {**{name: table.label for name, table in TABLES.items()}, "connected_accounts": "account",
                 "external_accounts": "external account"}


@dataclass
class _Hit:
    account_id: str
    label: str              # what the matched object is, e.g. "charge (destination)"
    path: list[str]         # matched object id first, then the objects followed
    kind: str

    @property
    def field(self) -> str:
        """What the input was, e.g. 'refund -> charge (destination)'."""
        if self.label == "account id":
            return "id"
        steps = [_OBJECT_LABEL.get(_table_for(oid) or "", oid) for oid in self.path]
        at = self.label_at if self.label_at is not None else len(self.path) - 1
        return " -> ".join([*steps[:at], self.label])

    label_at: int | None = None  # index in path of the object `label` describes (default: the last)


@dataclass
class _IdSearch:
    hits: list[_Hit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    truncated: bool = False


def _table_for(object_id: str) -> str | None:
    prefix = object_id.split("_", 1)[0] if "_" in object_id else ""
    return ID_PREFIXES.get(prefix)


def _successor(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix` (ids are ASCII)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _pred(mode: str, value: str) -> tuple[str, list[Any]]:
    """A predicate template on an id column `{col}` (filled with our column name); the value is a parameter."""
    if mode == "exact":
        return "{col} = ?", [value]
    if mode == "prefix":
        # the range lets DuckDB use min/max zonemaps; starts_with keeps it exact
        return "({col} >= ? AND {col} < ? AND starts_with({col}, ?))", [value, _successor(value), value]
    return "contains({col}, ?)", [value]


def _rows(cur: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    return cur.execute(sql, list(params)).fetchall()


def _in_list(ids: Sequence[str]) -> tuple[str, list[Any]]:
    return "list_contains(?, {col})", [list(ids)]


class _Resolver:
    """Follows objects to their merchant. One instance per lookup (collects hits and notes)."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, kind: str) -> None:
        self.cur = cur
        self.kind = kind
        self.out = _IdSearch()

    # Each `_<table>` takes a predicate on the table's id and the path that led there.

    bank_query: tuple[str, str] = ("exact", "")

    def search(self, table: str, where: str, params: list[Any], path: list[str] | None = None) -> int:
        self.bank_query = (where_mode(where), params[-1])
        return getattr(self, "_" + table)(where, params, path or [])

    def _found(self, account: str | None, label: str, path: list[str], label_at: int | None = None) -> None:
        if account:
            self.out.hits.append(_Hit(account, label, path, self.kind, label_at))

    def _follow(self, object_ids: Iterable[str | None], paths: dict[str, list[str]]) -> None:
        """Resolve referenced objects (by exact id), grouped by table, one query per table."""
        by_table: dict[str, list[str]] = {}
        for oid in object_ids:
            if oid and (table := _table_for(oid)):
                by_table.setdefault(table, []).append(oid)
            elif oid:
                self.out.notes.append(f"{' -> '.join(paths[oid])}: {oid} is not a synced kind of object")
        for table, ids in by_table.items():
            where, params = _in_list(ids)
            found = self._dispatch(table, where, params, paths)
            for missing in set(ids) - found:
                self.out.notes.append(f"{' -> '.join(paths[missing])}: {missing} is not in the mirror (not synced?)")

    def _dispatch(self, table: str, where: str, params: list[Any], paths: dict[str, list[str]]) -> set[str]:
        """Like search() for several ids at once, each with its own path; returns the ids found."""
        found: set[str] = set()
        getattr(self, "_" + table)(where, params, None, paths, found)
        return found

    # --- tables. Signature: (where, params, path | None, paths-by-id | None, found-set | None) -> rows

    def _p(self, oid: str, path: list[str] | None, paths: dict[str, list[str]] | None,
           found: set[str] | None) -> list[str]:
        if found is not None:
            found.add(oid)
        if paths is not None and oid in paths:
            return paths[oid]
        return [*(path or []), oid]

    def _connected_accounts(self, where, params, path, paths=None, found=None) -> int:
        rows = _rows(self.cur, f"SELECT DISTINCT id FROM connected_accounts WHERE {where.format(col='id')} ORDER BY id LIMIT ?",
                     [*params, CANDIDATES + 1])
        self._cap(rows, "connected_accounts")
        for (oid,) in rows[:CANDIDATES]:
            p = self._p(oid, path, paths, found)
            self._found(oid, "account id" if len(p) == 1 else "account", p)
        return len(rows)

    def _charges(self, where, params, path, paths=None, found=None) -> int:
        rows = _rows(self.cur, f"SELECT DISTINCT id, account, transfer_destination_id FROM charges "
                               f"WHERE {where.format(col='id')} ORDER BY id LIMIT ?", [*params, CANDIDATES + 1])
        self._cap(rows, "charges")
        rows = rows[:CANDIDATES]
        # separate charges and transfers: the transfer whose source_transaction is the charge
        platform = [oid for oid, account, dest in rows if not account and not dest]
        transfers: dict[str, list[tuple[str, str]]] = {}
        if platform:
            for source, tid, tdest in _rows(self.cur, "SELECT source_transaction_id, id, destination_id FROM transfers "
                                                      "WHERE list_contains(?, source_transaction_id) ORDER BY id",
                                            [platform]):
                transfers.setdefault(source, []).append((tid, tdest))
        for oid, account, dest in rows:
            p = self._p(oid, path, paths, found)
            if account:
                label = "payment (transfer to the account)" if oid.startswith("py_") else "charge (direct)"
                self._found(account, label, p)
            elif dest:
                self._found(dest, "charge (destination)", p)
            elif oid in transfers:
                for tid, tdest in transfers[oid]:
                    self._found(tdest, "charge (separate charge and transfer)", [*p, tid], len(p) - 1)
            else:
                self.out.notes.append(f"{' -> '.join(p)}: a platform charge with no transfer: no merchant")
        return len(rows)

    def _transfers(self, where, params, path, paths=None, found=None) -> int:
        rows = _rows(self.cur, f"SELECT DISTINCT id, destination_id FROM transfers WHERE {where.format(col='id')} ORDER BY id LIMIT ?",
                     [*params, CANDIDATES + 1])
        self._cap(rows, "transfers")
        for oid, dest in rows[:CANDIDATES]:
            p = self._p(oid, path, paths, found)
            if dest:
                self._found(dest, "transfer", p)
            else:
                self.out.notes.append(f"{' -> '.join(p)}: a transfer without a destination")
        return len(rows)

    def _payouts(self, where, params, path, paths=None, found=None) -> int:
        rows = _rows(self.cur, f"SELECT id, account, destination_id FROM payouts WHERE {where.format(col='id')} ORDER BY id LIMIT ?",
                     [*params, CANDIDATES + 1])
        self._cap(rows, "payouts")
        for oid, account, dest in rows[:CANDIDATES]:
            p = self._p(oid, path, paths, found)
            if account:
                self._found(account, "payout", p)
            else:
                self.out.notes.append(f"{' -> '.join(p)}: a platform payout (to {dest or 'the platform bank'}), "
                                      "not a merchant's")
        return len(rows)

    def _application_fees(self, where, params, path, paths=None, found=None) -> int:
        rows = _rows(self.cur, f"SELECT DISTINCT id, account_id FROM application_fees WHERE {where.format(col='id')} ORDER BY id LIMIT ?",
                     [*params, CANDIDATES + 1])
        self._cap(rows, "application_fees")
        for oid, account in rows[:CANDIDATES]:
            self._found(account, "application fee", self._p(oid, path, paths, found))
        return len(rows)

    def _refunds(self, where, params, path, paths=None, found=None) -> int:
        return self._via_reference("refunds", "refund", "charge_id", where, params, path, paths, found)

    def _disputes(self, where, params, path, paths=None, found=None) -> int:
        return self._via_reference("disputes", "dispute", "charge_id", where, params, path, paths, found)

    def _via_reference(self, table: str, label: str, ref: str, where, params, path, paths, found) -> int:
        rows = _rows(self.cur, f"SELECT id, account, {ref} FROM {table} WHERE {where.format(col='id')} ORDER BY id LIMIT ?",
                     [*params, CANDIDATES + 1])
        self._cap(rows, table)
        follow: dict[str, list[str]] = {}
        for oid, account, source in rows[:CANDIDATES]:
            p = self._p(oid, path, paths, found)
            if account:
                self._found(account, label, p)
            elif source:
                follow[source] = [*p, source]
            else:
                self.out.notes.append(f"{' -> '.join(p)}: a platform {label} with nothing to follow")
        if follow:
            self._follow(follow, follow)
        return len(rows)

    def _balance_transactions(self, where, params, path, paths=None, found=None) -> int:
        return self._via_reference("balance_transactions", "balance transaction", "source_id", where, params, path,
                                   paths, found)

    def _events(self, where, params, path, paths=None, found=None) -> int:
        return self._via_reference("events", "event", "data_object_id", where, params, path, paths, found)

    def _external_accounts(self, where, params, path, paths=None, found=None) -> int:
        # bank account ids live inside each account's raw external_accounts: use the folded text index's
        # copy of them (exact case kept in the row value) instead of re-parsing every account's JSON
        mode, value = self.bank_query
        rows = sorted({(oid, account) for account, fld, oid in _text_index(self.cur).rows
                       if fld == "external_account.id" and (oid in value if mode == "in" else
                                                            oid == value if mode == "exact" else
                                                            oid.startswith(value) if mode == "prefix" else
                                                            value in oid)})
        self._cap(rows, "external accounts")
        for oid, account in rows[:CANDIDATES]:
            self._found(account, "external account", self._p(oid, path, paths, found))
        return len(rows)

    def _cap(self, rows: list[Any], table: str) -> None:
        if len(rows) > CANDIDATES:
            self.out.truncated = True
            self.out.notes.append(f"more than {CANDIDATES} {table} matched; showing the merchants of the first "
                                  f"{CANDIDATES}: type more of the id")


def where_mode(where: str) -> str:
    """Which of our own predicate templates (see _pred, _in_list) `where` is."""
    if where.startswith("list_contains"):
        return "in"
    return "exact" if where.endswith("= ?") else "prefix" if where.startswith("(") else "contains"


def _table_rows(cur: duckdb.DuckDBPyConnection) -> dict[str, int]:
    rows = cur.execute("SELECT table_name, estimated_size FROM duckdb_tables() WHERE schema_name = 'main' "
                       "AND database_name = current_database()").fetchall()
    return {name: int(size or 0) for name, size in rows}


def _looks_like_id_piece(text: str) -> bool:
    """Letters and digits only, long enough, with a digit or mixed case (ids are; typed words are not)."""
    return bool(_FRAGMENT_RE.match(text)) and len(text) >= MIN_FRAGMENT and (
        any(c.isdigit() for c in text) or (text.lower() != text and text.upper() != text))


def search_ids(cur: duckdb.DuckDBPyConnection, text: str, fragments: bool = True) -> _IdSearch:
    """Objects whose id is `text`, starts with it, or (small tables) contains it, each with its merchant."""
    match = _ID_RE.match(text)
    if match and match[1] in ID_PREFIXES:
        table = ID_PREFIXES[match[1]]
        resolver = _Resolver(cur, "id")
        if resolver.search(table, *_pred("exact", text)):
            return resolver.out
        if len(match[2]) < MIN_ID_TAIL:
            resolver.out.notes.append(f"type at least {MIN_ID_TAIL} characters after '{match[1]}_' to search "
                                      f"{_OBJECT_LABEL[table]} ids")
            return resolver.out
        resolver.kind = "id_prefix"
        resolver.search(table, *_pred("prefix", text))
        if not resolver.out.hits and not resolver.out.notes:
            resolver.out.notes.append(f"no synced {_OBJECT_LABEL[table]} id is or starts with {text}")
        return resolver.out
    if fragments and _looks_like_id_piece(text):
        # a piece of an id without its prefix: look inside the ids of tables small enough to scan
        resolver = _Resolver(cur, "id_fragment")
        sizes = _table_rows(cur)
        skipped = []
        for table in dict.fromkeys(ID_PREFIXES.values()):
            size = sizes.get("connected_accounts" if table == "external_accounts" else table, 0)
            if size > FRAGMENT_SCAN_MAX_ROWS:
                skipped.append(table)
                continue
            resolver.search(table, *_pred("contains", text))
        if skipped:
            resolver.out.notes.append(f"not searched inside ids of {', '.join(skipped)} (too many rows): paste the "
                                      "id from its start (e.g. ch_3Nx...) to search those")
        return resolver.out
    return _IdSearch()


# --------------------------------------------------------------------------- text
#
# Folding 10k accounts x ~10 fields (lower + strip_accents + regex word splits) on every keystroke costs
# hundreds of ms. So DuckDB extracts the fields (vectorised JSON), Python folds them once into an index
# kept per database and data version (row count, newest synced_at and a hash of ids and synced_at, read
# in ~1 ms per lookup), and each lookup is a substring scan of one string.

_FIELD_BONUS = {"business_name": 6, "email": 5, "company.name": 4, "business_profile.support_email": 3,
                "individual.name": 3, "business_profile.url": 2}

_FIELDS_SQL = """
WITH src AS MATERIALIZED (
    SELECT id, business_name, email,
           json_extract_string(raw, ['$.business_profile.support_email', '$.business_profile.url', '$.company.name',
                                     '$.individual.first_name', '$.individual.last_name']) AS j,
           TRY_CAST(raw->'$.metadata' AS MAP(VARCHAR, VARCHAR)) AS m,
           json_extract_string(raw, '$.external_accounts.data[*].fingerprint') AS fps,
           json_extract_string(raw, '$.external_accounts.data[*].id') AS bas
    FROM connected_accounts WHERE account IS NULL
)
SELECT account_id, field, value FROM (
    SELECT id AS account_id, 1 AS o, 'business_name' AS field, business_name AS value FROM src
    UNION ALL SELECT id, 2, 'email', email FROM src
    UNION ALL SELECT id, 3, 'business_profile.support_email', j[1] FROM src
    UNION ALL SELECT id, 4, 'business_profile.url', j[2] FROM src
    UNION ALL SELECT id, 5, 'company.name', j[3] FROM src
    UNION ALL SELECT id, 6, 'individual.name', concat_ws(' ', j[4], j[5]) FROM src
    UNION ALL SELECT id, 7, 'metadata.' || e.key, e.value FROM (SELECT id, unnest(map_entries(m)) AS e FROM src)
    UNION ALL SELECT id, 8, 'external_account.fingerprint', unnest(fps) FROM src
    UNION ALL SELECT id, 9, 'external_account.id', unnest(bas) FROM src
) WHERE value IS NOT NULL AND value <> ''
ORDER BY account_id, o, field
"""
_VERSION_SQL = ("SELECT (SELECT path FROM duckdb_databases() WHERE database_name = current_database()), "
                "count(*), max(synced_at), sum(hash(id, synced_at)) FROM connected_accounts")
_SEP = "\x00"


class _TextIndex:
    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        self.rows: list[tuple[str, str, str]] = []   # (account_id, field, value)
        self.starts: list[int] = []                 # offset of each row's folded value in blob
        self.folded: list[str] = []
        parts: list[str] = []
        offset = 0
        per_account: dict[str, list[tuple[str, str]]] = {}
        for account_id, fld, value in rows:
            f = fold(value).replace(_SEP, " ")
            if not f:
                continue
            self.rows.append((account_id, fld, value))
            self.folded.append(f)
            self.starts.append(offset + 1)
            parts.append(_SEP + f)
            offset += len(f) + 1
            per_account.setdefault(account_id, []).append((f, value))
        self.blob = "".join(parts) + _SEP
        self.names = {a: v for a, fld, v in rows if fld == "business_name"}
        self.accounts = {a: (" | ".join(f for f, _ in v), v) for a, v in per_account.items()}

    def search(self, q: str) -> list[tuple[str, str, str, str]]:
        """(account_id, field, value, kind) of every row containing q, best kind per row."""
        out = []
        blob, starts, find = self.blob, self.starts, self.blob.find
        pos = find(q)
        while pos != -1:
            i = bisect_right(starts, pos) - 1
            out.append((*self.rows[i], _classify(self.folded[i], q)))
            nxt = starts[i + 1] if i + 1 < len(starts) else len(blob)
            pos = find(q, nxt)
        return out

    def all_words(self, tokens: list[str]) -> list[tuple[str, str, str, str]]:
        out = []
        for account_id, (text, values) in self.accounts.items():
            if all(t in text for t in tokens):
                shown = " | ".join(dict.fromkeys(v for f, v in values if any(t in f for t in tokens)))
                out.append((account_id, "all words", shown, "all_words"))
        return out


def _classify(folded: str, q: str) -> str:
    if folded == q:
        return "exact"
    if folded.startswith(q):
        return "prefix"
    pos = folded.find(q)
    while pos != -1:
        if not folded[pos - 1].isalnum():
            return "word_prefix"
        pos = folded.find(q, pos + 1)
    return "contains"


_INDEXES: dict[Any, _TextIndex] = {}
_INDEX_LOCK = threading.Lock()


def _text_index(cur: duckdb.DuckDBPyConnection) -> _TextIndex:
    row = cur.execute(_VERSION_SQL).fetchone()
    path = row[0] if row and row[0] else f"memory:{id(cur)}"  # an in-memory database: never shared
    key = (path, *row[1:]) if row else (path,)
    with _INDEX_LOCK:
        index = _INDEXES.get(key)
        if index is None:
            index = _TextIndex(cur.execute(_FIELDS_SQL).fetchall())
            for old in [k for k in _INDEXES if k[0] == path]:
                del _INDEXES[old]
            _INDEXES[key] = index
    return index


def search_text(cur: duckdb.DuckDBPyConnection, text: str) -> list[tuple[str, str, str, str]]:
    """(account_id, field, value, kind) for account fields matching the folded text, any order."""
    q = fold(text.strip()).replace(_SEP, "")
    index = _text_index(cur)
    hits = index.search(q)
    tokens = [t for t in re.split(r"\W+", q) if len(t) >= 2]  # one-letter words would match almost anything
    if len(tokens) > 1:
        hits += index.all_words(tokens)
    return hits


# --------------------------------------------------------------------------- lookup


def _accounts(cur: duckdb.DuckDBPyConnection, ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    if not ids:
        return {}
    rows = _rows(cur, "SELECT id, business_name, email, country, type FROM connected_accounts "
                      "WHERE list_contains(?, id) AND account IS NULL", [list(ids)])
    return {row[0]: row for row in rows}


def lookup(cur: duckdb.DuckDBPyConnection, query: str | None, limit: int = DEFAULT_LIMIT) -> LookupResult:
    """Merchants matching `query`, best first (at most `limit`), or a hint when it cannot be searched."""
    raw = query or ""
    hint = check_query(raw)
    if hint:
        return LookupResult(query=raw, hint=hint)
    text = raw.strip()
    texts = search_text(cur, text)
    # a bare fragment is also looked for inside ids, unless it already names something exactly
    ids = search_ids(cur, text, fragments=not any(kind == "exact" for *_, kind in texts))

    # candidates as plain tuples (a broad query like "example" hits every account); models for the top only
    best: dict[str, tuple[float, int, dict[str, Any]]] = {}

    def offer(account_id: str, score: float, path_len: int, fields: dict[str, Any]) -> None:
        current = best.get(account_id)
        if current is None or (score, -path_len) > (current[0], -current[1]):
            best[account_id] = (score, path_len, fields)

    for hit in ids.hits:
        offer(hit.account_id, SCORES[hit.kind], len(hit.path),
              {"matched_field": hit.field, "matched_value": hit.path[0], "path": hit.path, "kind": hit.kind,
               "via_object_id": None if hit.path[0] == hit.account_id else hit.path[0]})
    for account_id, fld, value, kind in texts:
        bonus = _FIELD_BONUS.get(fld, 1 if fld.startswith(("metadata.", "external_account.")) else 0)
        offer(account_id, SCORES[kind] + bonus, 0, {"matched_field": fld, "matched_value": value, "kind": kind})

    names = _text_index(cur).names
    order = sorted(best, key=lambda a: (-best[a][0], fold(names.get(a) or "~"), a))
    top = order[:limit]
    info = _accounts(cur, top)
    ranked = []
    for account_id in top:
        score, _, fields = best[account_id]
        row = info.get(account_id)
        extra = dict(zip(("business_name", "email", "country", "type"), row[1:])) if row else {"in_mirror": False}
        ranked.append(Match(account_id=account_id, score=score, **fields, **extra))
    notes = list(dict.fromkeys(ids.notes))
    result = LookupResult(query=raw, matches=ranked, notes=notes, truncated=ids.truncated or len(order) > limit)
    if not result.matches and not notes:
        result.notes.append("No merchant matches. Ids must be pasted from their start (acct_, ch_, ...); names, "
                            "emails and metadata match anywhere, ignoring case and accents.")
    return result
