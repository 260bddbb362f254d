"""The DuckDB mirror of Stripe: schema, versioned migrations, bulk upserts, sync state and run log.

Tables carry Stripe Sigma's names so finance can reuse their queries. Every resource table has:

* ``id`` and ``account``: the connected account whose scope the object lives in, NULL for the platform.
* ``scope``: the same as ``account`` but never NULL ('' for the platform). DuckDB primary keys cannot
  hold NULL, so the key is ``(id, scope)``; ``account IS NULL`` still selects platform objects.
* ``created`` as TIMESTAMP (UTC), typed columns for what pages use, ``raw`` (the whole object as JSON,
  so unknown fields never break a sync and new page fields need no re-sync) and ``synced_at``.

One process writes (DuckDB's rule). Within it, all writes go through ``Store.transaction()``, which
serialises them on one connection; readers take ``Store.cursor()`` and never block the writer.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from core.clock import utc_now
from core.mirror import records as people
from core.mirror.schema import TABLES, Table

PLATFORM = ""  # the scope value of platform objects (their `account` is NULL)
UPSERT_BATCH = 1000  # rows per INSERT statement


class StoreError(RuntimeError):
    """The database cannot be used; the message says why in one line."""


class DatabaseLockedError(StoreError):
    """Another process holds DuckDB's write lock on the file."""


# --------------------------------------------------------------------------- migrations


# The resource tables of migration 1 (later ones add their own tables in their own migration).
V1_TABLES = ("connected_accounts", "charges", "transfers", "payouts", "application_fees", "refunds", "disputes",
             "balance_transactions", "events")


def _resource_ddl(table: Table, version: int = 1) -> str:
    """A resource table as migration `version` made it (1: with ART indexes; 5 on: without)."""
    typed = "".join(f",\n    {c.name} {c.sql_type}" for c in table.columns)
    key = ",\n    PRIMARY KEY (id, scope)" if version < 5 else ""
    ddl = (
        f"CREATE TABLE {table.name} (\n    id VARCHAR NOT NULL,\n    account VARCHAR,\n"
        f"    scope VARCHAR NOT NULL,\n    created TIMESTAMP{typed},\n    raw JSON NOT NULL,\n"
        f"    synced_at TIMESTAMP NOT NULL{key}\n);\n"
    )
    return ddl + (f"CREATE INDEX {table.name}_created ON {table.name} (created);\n" if version < 5 else "")


_V1_STATE = """
CREATE TABLE sync_state (
    unit_id VARCHAR PRIMARY KEY,      -- backfill:<scope>:<resource>:<n> or events:<scope>
    kind VARCHAR NOT NULL,            -- 'backfill' | 'events'
    scope VARCHAR NOT NULL,
    resource VARCHAR NOT NULL,
    window_start BIGINT,              -- unix seconds, inclusive
    window_end BIGINT,                -- unix seconds, exclusive
    cursor VARCHAR,                   -- backfill: last id listed; events: newest event id applied
    cursor_created BIGINT,            -- created of the cursor object (event retention check)
    done BOOLEAN NOT NULL DEFAULT FALSE,
    run_id BIGINT,
    updated_at TIMESTAMP NOT NULL
);
CREATE SEQUENCE sync_runs_id START 1;
CREATE TABLE sync_runs (
    id BIGINT PRIMARY KEY DEFAULT nextval('sync_runs_id'),
    mode VARCHAR NOT NULL,            -- 'full' | 'incremental'
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status VARCHAR NOT NULL,          -- 'running' | 'succeeded' | 'failed'
    objects BIGINT NOT NULL DEFAULT 0,
    requests BIGINT NOT NULL DEFAULT 0,
    error VARCHAR,
    log VARCHAR
);
"""

# Version 1 is generated from TABLES as they were when it was written; later schema changes must be
# new, explicit migrations (ALTER TABLE ...) appended here, never edits of version 1.
# Version 2: what people do in Connect Ops (core.audit, core.actions): the append-only audit log and notes.
_V2_AUDIT = """
CREATE SEQUENCE audit_log_id START 1;
CREATE TABLE audit_log (
    id BIGINT PRIMARY KEY DEFAULT nextval('audit_log_id'),
    occurred_at TIMESTAMP NOT NULL,
    actor_email VARCHAR NOT NULL,
    actor_role VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    account_id VARCHAR,
    target_id VARCHAR,
    params JSON,
    reason VARCHAR,
    result VARCHAR NOT NULL,          -- 'succeeded' | 'failed' | 'denied'
    error VARCHAR,
    stripe_request_id VARCHAR,
    idempotency_key VARCHAR,
    demo BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX audit_log_account ON audit_log (account_id);
CREATE SEQUENCE account_notes_id START 1;
CREATE TABLE account_notes (
    id BIGINT PRIMARY KEY DEFAULT nextval('account_notes_id'),
    account_id VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    author_email VARCHAR NOT NULL,
    body VARCHAR NOT NULL
);
"""

# Version 3: lookups by id alone (the (id, scope) key is not used for `id = ?`) and charge -> transfer joins.
_V3_ID_INDEXES = "".join(
    f"CREATE INDEX {name}_id ON {name} (id);\n"
    for name in ("charges", "transfers", "payouts", "application_fees", "refunds", "disputes",
                 "balance_transactions", "events")
) + "CREATE INDEX transfers_source_transaction ON transfers (source_transaction_id);\n"

# Version 4: DuckDB answers `created` ranges from zone maps and never from an ART index, while each
# index costs the sync memory and time on every insert (ART indexes were its largest memory user).
_V4_NO_CREATED_INDEXES = "".join(f"DROP INDEX IF EXISTS {name}_created;\n" for name in TABLES)

# Version 5: no ART index on resource tables at all. DuckDB keeps an ART's changed nodes in memory
# until a checkpoint, and random keys (Stripe ids) change nodes everywhere: a sync of the large demo
# ran out of a 256 MB limit at 1.2 GB of data, and memory grew with the mirror. (id, scope) stays the
# key, kept by the one writer: replacing writes delete the key before inserting, and a first listing
# of a scope, which cannot meet a row of its own, appends (core/sync/engine.py explains why).
# `sync_state.fresh` marks those first listings.
_V5_NO_ART = "".join(
    f"DROP INDEX IF EXISTS {name}_id;\n" for name in TABLES
) + "DROP INDEX IF EXISTS transfers_source_transaction;\n" + "".join(
    f"ALTER TABLE {t.name} RENAME TO {t.name}__v4;\n" + _resource_ddl(t, 5)
    + f"INSERT INTO {t.name} SELECT * FROM {t.name}__v4;\nDROP TABLE {t.name}__v4;\n"
    for t in TABLES.values() if t.name in V1_TABLES
) + "ALTER TABLE sync_state ADD COLUMN fresh BOOLEAN DEFAULT FALSE;\n"

# Version 6: connected accounts that left the platform (deauthorized, or access revoked). Their rows
# stay as they last were (finance and tax still need them); their scopes are no longer polled.
_V6_DISCONNECTIONS = """
CREATE TABLE account_disconnections (
    account_id VARCHAR PRIMARY KEY,
    disconnected_at TIMESTAMP NOT NULL,  -- Stripe's time: the event's `created`, or when access was refused
    how VARCHAR NOT NULL                 -- the event id, or 'access refused'
);
"""

# Version 7: the risk team's review of each account (core/risk/review.py): its state now, every change with
# its note (the decision history; each also in audit_log), and how payouts were paused, to undo it.
_V7_RISK_REVIEWS = """
CREATE TABLE risk_reviews (
    account_id VARCHAR PRIMARY KEY,
    state VARCHAR NOT NULL,              -- 'new' | 'in_review' | 'cleared' | 'actioned'
    assignee VARCHAR,
    cleared_until TIMESTAMP,             -- a cleared account comes back after this
    cleared_signals VARCHAR[],           -- signals firing when cleared: a new one brings it back sooner
    updated_at TIMESTAMP NOT NULL,
    updated_by VARCHAR NOT NULL,
    last_event BIGINT NOT NULL           -- its latest risk_review_events row
);
CREATE SEQUENCE risk_review_events_id START 1;
CREATE TABLE risk_review_events (
    id BIGINT PRIMARY KEY DEFAULT nextval('risk_review_events_id'),
    account_id VARCHAR NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    actor_email VARCHAR NOT NULL,
    from_state VARCHAR NOT NULL,
    to_state VARCHAR NOT NULL,
    assignee VARCHAR,
    cleared_until TIMESTAMP,
    note VARCHAR,
    audit_id BIGINT
);
CREATE TABLE risk_payout_pauses (
    account_id VARCHAR PRIMARY KEY,
    method VARCHAR NOT NULL,             -- 'risk_controls' | 'manual_schedule'
    previous_schedule JSON,              -- what resuming restores (manual_schedule only)
    paused_at TIMESTAMP NOT NULL,
    paused_by VARCHAR NOT NULL,
    audit_id BIGINT
);
"""

# Version 8: finance's per-account corrections of a year's 1099 (core/tax/overrides.py): the form type and
# Stripe's `filing_requirement`, set by an audited action, exported in the import CSV, never sent to Stripe.
_V8_TAX_FORM_OVERRIDES = """
CREATE TABLE tax_form_overrides (
    account_id VARCHAR NOT NULL,
    tax_year INTEGER NOT NULL,
    form_type VARCHAR,                   -- 'k' | 'nec'; NULL: the platform's default
    filing_requirement VARCHAR NOT NULL, -- DEFAULT | NOT_REQUIRED | REQUIRED | REQUIRED_EVEN_IF_...
    updated_at TIMESTAMP NOT NULL,
    updated_by VARCHAR NOT NULL,
    PRIMARY KEY (account_id, tax_year)
);
"""

# Version 9: the SQL explorer's saved queries (core/explore/saved.py): shared by URL (?query=<id>); never
# queryable from the explorer itself (owners' emails), see core/explore/guard.py.
_V9_EXPLORE_QUERIES = """
CREATE TABLE explore_queries (
    id VARCHAR PRIMARY KEY,              -- short random id: the explorer's ?query=<id>
    name VARCHAR NOT NULL,
    owner_email VARCHAR NOT NULL,
    sql VARCHAR NOT NULL,
    description VARCHAR,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
"""

# Finance's filed 1099 figures, frozen as filed (core/tax/filing.py): one row per account and tax year.
_R5_TAX_FILED_FORMS = """
CREATE TABLE tax_filed_forms (
    account_id VARCHAR NOT NULL,
    tax_year INTEGER NOT NULL,
    form_type VARCHAR NOT NULL,
    boxes JSON NOT NULL,          -- TaxForm.boxes() as filed: amounts in USD cents, payee details
    filed_at TIMESTAMP NOT NULL,
    filed_by VARCHAR NOT NULL,
    audit_id BIGINT,
    PRIMARY KEY (account_id, tax_year)
);
"""

# The records database's own migrations (core/mirror/records.py): the people's tables, created there; the
# mirror's versions 2, 7, 8 and 9 above still run on an empty mirror, and their tables are then moved.
RECORDS_MIGRATIONS: list[tuple[int, str]] = [
    (1, _V2_AUDIT),
    (2, _V7_RISK_REVIEWS),
    (3, _V8_TAX_FORM_OVERRIDES),
    (4, _V9_EXPLORE_QUERIES),
    (5, _R5_TAX_FILED_FORMS),
]
# Version 10: Radar's early fraud warnings, a resource table added after the first nine versions (which
# build and rebuild only the tables they knew: V1_TABLES).
_V10_EARLY_FRAUD_WARNINGS = _resource_ddl(TABLES["early_fraud_warnings"], 5)

MIGRATIONS: list[tuple[int, str]] = [
    (1, "".join(_resource_ddl(t) for t in TABLES.values() if t.name in V1_TABLES) + _V1_STATE),
    (2, _V2_AUDIT),
    (3, _V3_ID_INDEXES),
    (4, _V4_NO_CREATED_INDEXES),
    (5, _V5_NO_ART),
    (6, _V6_DISCONNECTIONS),
    (7, _V7_RISK_REVIEWS),
    (8, _V8_TAX_FORM_OVERRIDES),
    (9, _V9_EXPLORE_QUERIES),
    (10, _V10_EARLY_FRAUD_WARNINGS),
]


def _migrate(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)"
    )
    applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations").fetchall()}
    for version, sql in MIGRATIONS:
        if version in applied:
            continue
        conn.execute("BEGIN")
        try:
            conn.execute(sql)
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", [version, utc_now()])
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise


# --------------------------------------------------------------------------- the store


class Store:
    """The one writing connection of this process, plus read cursors for everyone else."""

    def __init__(self, path: str | Path, memory_limit: str | None = None,
                 records: str | Path | None = None) -> None:
        """The mirror at `path` and the people's records (core/mirror/records.py) at `records`, by default
        beside it; StoreError of one line if either cannot be used (the records file is never overwritten)."""
        self.path = str(path)
        self.records_path = str(records) if records else people.default_path(self.path)
        if self.path != ":memory:" and not self.path.startswith("md:"):
            ensure_database_folder(Path(self.path))
        self._conn = _connect(self.path)
        try:
            if memory_limit:  # DuckDB's default (80% of RAM) lets a long sync's page cache grow unbounded
                self._conn.execute(f"SET memory_limit = '{memory_limit}'")
            _migrate(self._conn)
        except duckdb.Error as exc:
            self._conn.close()
            raise StoreError(_damaged_mirror(self.path, exc)) from None
        try:
            if self.records_path != ":memory:":
                ensure_database_folder(Path(self.records_path))
            people.attach(self._conn, self.records_path, RECORDS_MIGRATIONS)
        except (people.RecordsError, StoreError) as exc:
            self._conn.close()
            raise StoreError(str(exc)) from None
        self._search_path = people.search_path(self._conn)
        self._write_lock = threading.RLock()
        # A scope's first listing appends rows (no key check); nobody else may write its rows meanwhile.
        self._claims_lock = threading.Lock()
        self._claimed: set[str] = set()  # scopes the sync is about to list for the first time
        self._written: set[str] = set()  # scopes written outside a sync since this store was opened

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own for a reader thread (a shared one raises 'connection is busy'); it sees
        the mirror and the people's records (a search path is per connection)."""
        cursor = self._conn.cursor()
        cursor.execute(f"SET search_path = '{self._search_path}'")
        return cursor

    def lock_down(self) -> None:
        """No files, no network, no settings changes for the rest of this process's use of the database.

        Turns DuckDB's external access off (file and URL readers, COPY, ATTACH, INSTALL, LOAD, Python
        replacement scans) and locks its configuration (no SET, PRAGMA x=, RESET), for this connection
        and every cursor of it. The store's own work is untouched: reads, writes, JSON functions,
        registered Arrow batches, spilling to its temp directory. Called once by the app's runtime
        after opening its store (the SQL explorer's last wall, core/explore/guard.py); set anything
        else (memory_limit...) before. It cannot be undone: reopen the store for that.
        """
        with self._write_lock:
            lock_down(self._conn)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction; rows and the cursor that produced them commit together."""
        with self._write_lock:
            conn = self._conn
            conn.execute("BEGIN")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # -- resource rows

    def upsert(
        self, conn: duckdb.DuckDBPyConnection, table: str, scope: str, objects: Iterable[dict[str, Any]]
    ) -> int:
        """Insert or update objects of one scope by (id, scope); the last copy of an id wins."""
        return self.upsert_scoped(conn, table, ((scope, obj) for obj in objects))

    def upsert_scoped(
        self, conn: duckdb.DuckDBPyConnection, table: str, items: Iterable[tuple[str, dict[str, Any]]]
    ) -> int:
        """Like upsert, for objects of several scopes at once (the sync writer's batches)."""
        spec = TABLES[table]
        now = utc_now()
        latest = {(obj["id"], scope): (scope, obj) for scope, obj in items}
        rows = [spec.row(scope, obj, now) for scope, obj in latest.values()]
        for start in range(0, len(rows), UPSERT_BATCH):
            _insert_rows(conn, spec, rows[start:start + UPSERT_BATCH])
        return len(rows)

    def upsert_json(
        self, conn: duckdb.DuckDBPyConnection, table: str, items: Sequence[tuple[str, str, bool]],
        *, append: bool = False,
    ) -> int:
        """Upsert objects given as JSON text, typed columns computed by DuckDB (no per-object Python).

        `items` are (scope, text, is_page): a list response body whose `data` holds the objects, or one
        object. The columns equal what `upsert_scoped` writes (tests/test_store.py compares them); the
        last copy of an (id, scope) wins. `append` skips deleting the keys first: only for objects that
        cannot be in the table yet (a scope's first listing). Returns the number of rows written.
        """
        if not items:
            return 0
        spec = TABLES[table]
        statements = _SQL_CACHE.get("json:" + table)
        if statements is None:
            statements = _SQL_CACHE["json:" + table] = _json_upsert_sql(spec)
        delete, insert = statements
        seqs = list(range(len(items)))
        scopes = [i[0] for i in items]
        docs = [i[1] for i in items]
        pages = [bool(i[2]) for i in items]
        if not append:
            conn.execute(delete, [seqs, scopes, docs, pages])
        row = conn.execute(insert, [seqs, scopes, docs, pages, utc_now()]).fetchone()
        return int(row[0]) if row else 0

    def duplicate_keys(self, tables: Iterable[str] | None = None) -> dict[str, int]:
        """Extra rows per table beyond one per (id, scope): zero everywhere unless something went wrong."""
        cur = self.cursor()
        counts = {}
        for name in tables or TABLES:
            row = cur.execute(f"SELECT count(*) - count(DISTINCT (id, scope)) FROM {name}").fetchone()
            counts[name] = int(row[0]) if row else 0
        return {name: n for name, n in counts.items() if n}

    def repair_duplicates(self, tables: Iterable[str] | None = None) -> dict[str, int]:
        """Keep the newest copy of every (id, scope) and delete the others; returns rows deleted per table.

        Keys are kept by the one writer, not by an index (see migration 5); this is the check that
        proves it after every sync that appended, and the repair if it ever did not hold.
        """
        found = self.duplicate_keys(tables)
        with self.transaction() as conn:
            for name in found:
                conn.execute(
                    f"DELETE FROM {name} WHERE rowid IN (SELECT rowid FROM (SELECT rowid, row_number() OVER "
                    f"(PARTITION BY id, scope ORDER BY synced_at DESC, rowid DESC) AS n FROM {name}) WHERE n > 1)")
        return found

    # -- what the sync asks of the mirror (each on a cursor of its own: these run beside the writer)

    def connected_account_ids(self) -> list[str]:
        """Accounts to sync: every one we hold, except those that left the platform."""
        return [r[0] for r in self.cursor().execute(
            "SELECT id FROM connected_accounts WHERE id NOT IN (SELECT account_id FROM account_disconnections)"
        ).fetchall()]

    def accounts_created(self, ids: list[str]) -> dict[str, int]:
        """Unix `created` of these accounts (where a backfill of their scope can start)."""
        rows = self.cursor().execute(
            "SELECT id, epoch(created)::BIGINT FROM connected_accounts WHERE list_contains(?, id)", [ids]).fetchall()
        return {r[0]: int(r[1]) for r in rows if r[1] is not None}

    def newest_account_created(self) -> int:
        row = self.cursor().execute("SELECT epoch(max(created))::BIGINT FROM connected_accounts").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def pending_balance_transactions_due(self, now: int) -> dict[str, int]:
        """Per scope, the oldest `created` of balance transactions still pending though due by `now` (Stripe's)."""
        rows = self.cursor().execute(
            "SELECT scope, epoch(min(created))::BIGINT FROM balance_transactions "
            "WHERE status = 'pending' AND available_on <= make_timestamp(CAST(? AS BIGINT) * 1000000) GROUP BY scope",
            [now]).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def keys_present(self, table: str, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (scope, id) pairs the table holds."""
        return set(self.cursor().execute(
            f"SELECT t.scope, t.id FROM {table} t JOIN (SELECT unnest(?::VARCHAR[]) AS scope, "
            "unnest(?::VARCHAR[]) AS id) k USING (scope, id)", [[k[0] for k in keys], [k[1] for k in keys]],
        ).fetchall())

    def count_since(self, table: str, scope: str, since: int) -> int:
        row = self.cursor().execute(
            f"SELECT count(*) FROM {table} WHERE scope = ? AND created >= make_timestamp(CAST(? AS BIGINT) * 1000000)",
            [scope, since]).fetchone()
        return int(row[0] if row else 0)

    def delete_all_units(self, conn: duckdb.DuckDBPyConnection) -> None:
        conn.execute("DELETE FROM sync_state")

    def delete_scope_units(self, conn: duckdb.DuckDBPyConnection, scope: str) -> None:
        conn.execute("DELETE FROM sync_state WHERE scope = ?", [scope])

    def disconnected_accounts(self) -> set[str]:
        return {r[0] for r in self.cursor().execute("SELECT account_id FROM account_disconnections").fetchall()}

    def mark_disconnected(self, conn: duckdb.DuckDBPyConnection, account_id: str, at: int, how: str) -> None:
        """Record that the platform lost the account and forget its sync state. The deauthorization event,
        when it comes, wins over a refused request: it says exactly when."""
        conn.execute("INSERT INTO account_disconnections VALUES (?, make_timestamp(CAST(? AS BIGINT) * 1000000), ?) "
                     "ON CONFLICT (account_id) DO UPDATE SET disconnected_at = excluded.disconnected_at, "
                     "how = excluded.how WHERE excluded.how LIKE 'evt_%' AND account_disconnections.how NOT LIKE 'evt_%'",
                     [account_id, at, how])
        conn.execute("DELETE FROM sync_state WHERE scope = ?", [account_id])

    def delete_objects(self, conn: duckdb.DuckDBPyConnection, table: str, keys: Sequence[tuple[str, str]]) -> None:
        """Remove objects Stripe deleted, by (scope, id)."""
        if keys:
            conn.execute(f"DELETE FROM {table} USING (SELECT unnest(?::VARCHAR[]) AS scope, "
                         f"unnest(?::VARCHAR[]) AS id) k WHERE {table}.id = k.id AND {table}.scope = k.scope",
                         [[k[0] for k in keys], [k[1] for k in keys]])

    def scopes_by_table(self) -> dict[str, set[str]]:
        """For each resource table, the scopes it holds rows of (one scan each)."""
        cur = self.cursor()
        return {name: {r[0] for r in cur.execute(f"SELECT DISTINCT scope FROM {name}").fetchall()}
                for name in TABLES}

    def claim_first_listing(self, scope: str) -> bool:
        """Reserve `scope` for a first listing; False when something else wrote its rows meanwhile."""
        with self._claims_lock:
            if scope in self._written:
                return False
            self._claimed.add(scope)
            return True

    def release_listing(self, scope: str) -> None:
        with self._claims_lock:
            self._claimed.discard(scope)

    def upsert_outside_sync(self, conn: duckdb.DuckDBPyConnection,
                            rows: Iterable[tuple[str, str, dict[str, Any]]]) -> int:
        """Write (table, scope, object) rows an action got back, except in scopes a sync is listing.

        Those scopes' rows belong to the listing (which appends without checking keys); the change
        reaches them through the scope's events, replayed once its listing is committed.
        """
        with self._claims_lock:
            busy = self._claimed | self.backfilling_scopes()
            written = 0
            for table, scope, obj in rows:
                if scope in busy:
                    continue
                self._written.add(scope)
                written += self.upsert(conn, table, scope, [obj])
            return written

    def backfilling_scopes(self) -> set[str]:
        """Scopes being listed (a unit not done): their rows are the sync's alone until it finishes."""
        rows = self.cursor().execute(
            "SELECT DISTINCT scope FROM sync_state WHERE kind = 'backfill' AND NOT done").fetchall()
        return {r[0] for r in rows}

    # -- sync state

    def units(self, kind: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM sync_state" + (" WHERE kind = ?" if kind else "") + " ORDER BY unit_id"
        return dict_rows(self.cursor(), sql, [kind] if kind else [])

    _UNIT_FIELDS = ("unit_id", "kind", "scope", "resource", "window_start", "window_end", "cursor",
                    "cursor_created", "done", "run_id", "fresh")

    def save_unit(self, conn: duckdb.DuckDBPyConnection, unit: dict[str, Any]) -> None:
        """Insert or replace one sync_state row (inside the caller's transaction)."""
        self.save_units(conn, [unit])

    def save_units(self, conn: duckdb.DuckDBPyConnection, units: Sequence[dict[str, Any]]) -> None:
        """Insert or replace sync_state rows in one statement; for a repeated unit_id the last one wins.

        One statement per commit, not per unit: DuckDB's INSERT OR REPLACE costs ~5 ms each whatever
        its size, which made unit bookkeeping the sync writer's largest cost.
        """
        latest = {u["unit_id"]: u for u in units}
        if not latest:
            return
        names = self._UNIT_FIELDS
        columns: list[list[Any]] = [[u.get(n) for u in latest.values()] for n in names]
        columns[names.index("done")] = [bool(u.get("done")) for u in latest.values()]
        columns[names.index("fresh")] = [bool(u.get("fresh")) for u in latest.values()]
        types = ("VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "BIGINT", "BIGINT", "VARCHAR", "BIGINT",
                 "BOOLEAN", "BIGINT", "BOOLEAN")
        select = ", ".join(f"unnest(?::{t}[])" for t in types)
        conn.execute(
            f"INSERT OR REPLACE INTO sync_state ({', '.join(names)}, updated_at) SELECT {select}, ?",
            [*columns, utc_now()],
        )

    def delete_units(self, conn: duckdb.DuckDBPyConnection, kind: str, scope: str | None = None) -> None:
        if scope is None:
            conn.execute("DELETE FROM sync_state WHERE kind = ?", [kind])
        else:
            conn.execute("DELETE FROM sync_state WHERE kind = ? AND scope = ?", [kind, scope])

    # -- run log

    def start_run(self, mode: str) -> int:
        with self.transaction() as conn:
            row = conn.execute(
                "INSERT INTO sync_runs (mode, started_at, status) VALUES (?, ?, 'running') RETURNING id",
                [mode, utc_now()],
            ).fetchone()
        assert row is not None
        return int(row[0])

    def finish_run(self, run_id: int, status: str, objects: int, requests: int,
                   error: str | None = None, log: Sequence[str] = ()) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE sync_runs SET finished_at = ?, status = ?, objects = ?, requests = ?, error = ?, "
                "log = ? WHERE id = ?",
                [utc_now(), status, objects, requests, error, "\n".join(log) or None, run_id],
            )

    def runs(self) -> list[dict[str, Any]]:
        return dict_rows(self.cursor(), "SELECT * FROM sync_runs ORDER BY id")

    def close_interrupted_runs(self) -> int:
        """Runs still 'running' when the store is opened died with an earlier process: say so in the log.

        Only for the one writing process at start (DuckDB's lock guarantees no other sync is under way).
        """
        with self.transaction() as conn:
            row = conn.execute(
                "UPDATE sync_runs SET status = 'failed', "
                "error = 'interrupted: the app stopped during this sync (the next one resumes it)' "
                "WHERE status = 'running' RETURNING id").fetchall()
        return len(row)

    def has_rows(self) -> bool:
        """Whether any resource table holds a row (a first sync commits pages long before it ends)."""
        union = " UNION ALL ".join(f"SELECT 1 FROM (SELECT 1 FROM {name} LIMIT 1)" for name in TABLES)
        return self.cursor().execute(f"SELECT count(*) FROM ({union})").fetchone()[0] > 0

    def wal_bytes(self) -> int:
        """Size of the write-ahead log not yet in the database file (0 for databases without one)."""
        try:
            return Path(self.path + ".wal").stat().st_size
        except OSError:
            return 0

    def checkpoint(self) -> None:
        """Move the write-ahead log into the database file now, rather than in a later commit (DuckDB
        does it every 16 MB) or at close: the sync does it while waiting for its last answers."""
        with self._write_lock:
            try:
                self._conn.execute("CHECKPOINT")
            except duckdb.TransactionException:  # a reader's transaction is open: DuckDB will do it later
                pass


def lock_down(conn: duckdb.DuckDBPyConnection) -> None:
    """External access off and configuration locked for this connection's database (see Store.lock_down)."""
    conn.execute("SET enable_external_access = false")
    conn.execute("SET python_enable_replacements = false")
    conn.execute("SET lock_configuration = true")


def dict_rows(db: duckdb.DuckDBPyConnection, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Rows as dicts keyed by the query's column names (what pages and tables want)."""
    result = db.execute(sql, list(args))
    names = [d[0] for d in result.description]
    return [dict(zip(names, row)) for row in result.fetchall()]


def ensure_database_folder(path: Path) -> None:
    """The folder a database file goes in exists (made if need be), or a StoreError that names the setting."""
    if path.is_dir():
        raise StoreError(f"CONNECT_OPS_DB={path} is a folder; give the path of a .duckdb file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"CONNECT_OPS_DB={path}: cannot create its folder {path.parent} "
                         f"({exc.strerror or exc})") from None


def _connect(path: str) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(path)
    except duckdb.Error as exc:
        if isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower():
            raise DatabaseLockedError(
                f"database {path} is locked by another Connect Ops process (is the app or another sync "
                "running?); stop it or point CONNECT_OPS_DB elsewhere"
            ) from None
        raise StoreError(_damaged_mirror(path, exc)) from None


def _damaged_mirror(path: str, exc: BaseException) -> str:
    first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return (f"CONNECT_OPS_DB={path}: cannot open it as a DuckDB database ({first_line}); if it is the mirror, "
            "rebuild it from Stripe with `connect-ops sync --rebuild` (people's records are kept apart, untouched)")


_SQL_CACHE: dict[str, Any] = {}  # statement text, or (delete, insert) for the JSON upserts


def _sql_types(spec: Table) -> list[str]:
    return ["VARCHAR", "VARCHAR", "VARCHAR", "TIMESTAMP", *(c.sql_type for c in spec.columns), "JSON", "TIMESTAMP"]


_ARROW_TYPES = {"VARCHAR": "string", "JSON": "string", "BIGINT": "int64", "INTEGER": "int32", "BOOLEAN": "bool_",
                "DOUBLE": "float64", "TIMESTAMP": "timestamp"}


def _arrow_batch(spec: Table, columns: list[list[Any]]) -> Any:
    """The rows as an Arrow table (pyarrow comes with streamlit), or None if a value does not fit its type."""
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is a dependency of streamlit
        return None
    arrays = []
    try:
        for values, sql_type in zip(columns, _sql_types(spec)):
            kind = _ARROW_TYPES[sql_type]
            arrow_type = pa.timestamp("us") if kind == "timestamp" else getattr(pa, kind)()
            arrays.append(pa.array(values, type=arrow_type))
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return None
    return pa.Table.from_arrays(arrays, names=spec.column_names)


def _json_path(dotted: str) -> str:
    return "$." + dotted


def _json_upsert_sql(spec: Table) -> tuple[str, str]:
    """INSERT ... SELECT deriving every column from the object's JSON, as the Python extractors do.

    The object is parsed once (`json_extract` with a list of paths); each column then reads its small
    JSON value: strings unquoted with ->>, numbers and booleans cast, references by their `id` when
    expanded, timestamps from unix seconds, counts as array lengths.
    """
    paths: list[str] = ["created"]

    def slot(dotted: str) -> str:
        if dotted not in paths:
            paths.append(dotted)
        return f"v[{paths.index(dotted) + 1}]"

    def expr(get: Any, sql_type: str) -> str:
        kind, *args = get.sql_spec
        if kind == "first":
            parts = ", ".join(f"NULLIF({expr(g, sql_type)}, '')" for g in args)
            return f"COALESCE({parts})"
        value = slot(args[0])
        if kind == "field":
            return f"({value} ->> '$')" if sql_type == "VARCHAR" else f"CAST({value} AS {sql_type})"
        if kind == "ref":
            return (f"(CASE WHEN json_type({value}) = 'OBJECT' THEN {value} ->> '$.id' "
                    f"ELSE {value} ->> '$' END)")
        if kind == "ts":
            return f"make_timestamp(CAST({value} AS BIGINT) * 1000000)"
        if kind == "count":
            return f"CAST(CASE WHEN json_type({value}) = 'ARRAY' THEN json_array_length({value}) END AS {sql_type})"
        if kind == "float":
            return f"CAST({value} AS DOUBLE)"
        raise ValueError(f"no SQL for extractor {kind}")

    typed = [expr(c.get, c.sql_type) for c in spec.columns]
    names = spec.column_names
    path_list = ", ".join(f"'{_json_path(p)}'" for p in paths)
    select = ", ".join([
        "o ->> '$.id'", "NULLIF(scope, '')", "scope", "make_timestamp(CAST(v[1] AS BIGINT) * 1000000)",
        *typed, "o", "$5",
    ])
    objects = (
        "SELECT seq, scope, unnest(objs) AS o, unnest(range(len(objs))) AS i FROM ("
        "SELECT seq, scope, CASE WHEN page THEN json_extract(CAST(doc AS JSON), '$.data[*]') "
        "ELSE [CAST(doc AS JSON)] END AS objs FROM ("
        "SELECT unnest($1::BIGINT[]) AS seq, unnest($2::VARCHAR[]) AS scope, unnest($3::VARCHAR[]) AS doc, "
        "unnest($4::BOOLEAN[]) AS page))"
    )
    insert = (
        f"INSERT INTO {spec.name} ({', '.join(names)}) SELECT {select} FROM ("
        f"SELECT scope, o, json_extract(o, [{path_list}]) AS v FROM ({objects}) "
        f"QUALIFY row_number() OVER (PARTITION BY o ->> '$.id', scope ORDER BY seq DESC, i DESC) = 1)"
    )
    delete = (f"DELETE FROM {spec.name} USING (SELECT DISTINCT o ->> '$.id' AS id, scope FROM ({objects})) k "
              f"WHERE {spec.name}.id = k.id AND {spec.name}.scope = k.scope")
    return delete, insert


def _insert_rows(conn: duckdb.DuckDBPyConnection, spec: Table, rows: list[tuple[Any, ...]]) -> None:
    """Replace rows by key: one DELETE of their (id, scope) keys, then one INSERT fed column-wise.

    Measured on 100-row pages: executemany ~600 ms, a multi-row VALUES ~50 ms, column lists ~15 ms.
    Per row (3,000-row batches of charges): list parameters ~90-125 us (DuckDB converts each Python
    value on its own), an Arrow table built by pyarrow ~45 us; so Arrow, with list parameters as the
    fallback for a value Arrow will not take. Cost is per row, so the sync's writer groups pages.
    """
    if not rows:
        return
    names = spec.column_names
    columns = [list(column) for column in zip(*rows)]
    conn.execute(f"DELETE FROM {spec.name} USING (SELECT unnest(?::VARCHAR[]) AS id, unnest(?::VARCHAR[]) AS scope) k "
                 f"WHERE {spec.name}.id = k.id AND {spec.name}.scope = k.scope",
                 [columns[names.index("id")], columns[names.index("scope")]])
    batch = _arrow_batch(spec, columns)
    if batch is not None:
        conn.register("sync_batch", batch)
        try:
            conn.execute(f"INSERT INTO {spec.name} ({', '.join(names)}) SELECT {', '.join(names)} FROM sync_batch")
        finally:
            conn.unregister("sync_batch")
        return
    sql = _SQL_CACHE.get(spec.name)
    if sql is None:
        select = ", ".join(f"unnest(?::{t}[])" for t in _sql_types(spec))
        sql = _SQL_CACHE[spec.name] = f"INSERT INTO {spec.name} ({', '.join(names)}) SELECT {select}"
    conn.execute(sql, columns)
