"""Issue 19, section 5: a seeded randomized test of the explorer's walls.

A canary is planted in every protected table (audit log, notes, risk reviews and their events, payout pauses,
tax overrides, saved queries, sync state and runs). SQL comes from a small grammar (tables, joins, WITH,
functions) and from known attacks mutated (case, comments, nested comments, `--\\r`, quoting, unicode
spaces, separators, EXPLAIN variants). For every text:

* the guard alone (wall 1): whatever it accepts, run in-process on the store that holds the canary, never
  shows it;
* the whole run (walls 1 and 2: the worker on the explorer's copy): never shows it, in rows or messages;
* every refusal is audited (one `denied` row per refused run), every run has exactly one audit row;
* no file appears (other than the explorer's own copy beside the mirror).

Short by default (CONNECT_OPS_FUZZ_CASES, default 80; seed CONNECT_OPS_FUZZ_SEED).
"""
from __future__ import annotations

import os
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from core import audit
from core.auth import Actor, Role
from core.clock import utc_now
from core.explore.guard import QueryRefused, check
from core.explore.run import AUDIT_ACTION, Limits, QueryFailed, relation_names, run
from core.mirror.store import Store
from tests.explore.conftest import copy_mirror

CANARY = "CANARY7f3c9e"
ANALYST = Actor(email="fuzz@corp.example", role=Role.ADMIN)
CASES = int(os.environ.get("CONNECT_OPS_FUZZ_CASES", "80"))
SEED = int(os.environ.get("CONNECT_OPS_FUZZ_SEED", "19"))
PROTECTED = ("audit_log", "account_notes", "risk_reviews", "risk_review_events", "risk_payout_pauses",
             "tax_form_overrides", "explore_queries", "sync_state", "sync_runs")
QUERYABLE_SAMPLE = ("charges", "connected_accounts", "transfers", "payouts", "disputes", "refunds")


@pytest.fixture(scope="module")
def canary_store(synced_store: Store, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = copy_mirror(synced_store, tmp_path_factory.mktemp("attacks") / "mirror.duckdb")
    store = Store(path)
    account = store.cursor().execute("SELECT id FROM connected_accounts ORDER BY id LIMIT 1").fetchall()[0][0]
    now = utc_now()
    with store.transaction() as conn:
        audit.record(conn, ANALYST, "plant", account_id=account, target_id=CANARY, params={"x": CANARY},
                     reason=CANARY, result="succeeded")
        conn.execute("INSERT INTO account_notes (account_id, created_at, author_email, body) VALUES (?, ?, ?, ?)",
                     [account, now, f"{CANARY}@x", CANARY])
        conn.execute("INSERT INTO risk_reviews VALUES (?, 'in_review', ?, NULL, [?], ?, ?, 1)",
                     [account, CANARY, CANARY, now, CANARY])
        conn.execute("INSERT INTO risk_review_events (account_id, occurred_at, actor_email, from_state, to_state, "
                     "note) VALUES (?, ?, ?, 'new', 'in_review', ?)", [account, now, CANARY, CANARY])
        conn.execute("INSERT INTO risk_payout_pauses VALUES (?, 'manual_schedule', ?, ?, ?, 1)",
                     [account, f'{{"c": "{CANARY}"}}', now, CANARY])
        conn.execute("INSERT INTO tax_form_overrides VALUES (?, 2024, 'nec', 'REQUIRED', ?, ?)", [account, now, CANARY])
        conn.execute("INSERT INTO explore_queries VALUES ('q_canary', ?, ?, ?, ?, ?, ?)",
                     [CANARY, CANARY, f"SELECT '{CANARY}'", CANARY, now, now])
    with store.transaction() as conn:  # the mirror's own state: a database apart from the people's records
        conn.execute("INSERT INTO sync_state (unit_id, kind, scope, resource, cursor, updated_at) "
                     "VALUES (?, 'events', ?, 'x', ?, ?)", [CANARY, CANARY, CANARY, now])
        conn.execute("INSERT INTO sync_runs (id, mode, started_at, status, error) VALUES (999999, 'full', ?, 'failed', ?)",
                     [now, CANARY])
    store.lock_down()
    yield store
    store.close()


# --------------------------------------------------------------------------- the SQL


KNOWN = [
    "SELECT * FROM {p}",
    "SELECT c.id FROM charges c JOIN {p} n ON c.description = CAST(n AS VARCHAR)",
    "/* /* */ EXPLAIN SELECT ' */ EXPLAIN ANALYZE SELECT c.id FROM charges c JOIN {p} n ON c.description = "
    "CAST(n AS VARCHAR) -- '",
    "EXPLAIN ANALYZE SELECT c.id FROM charges c JOIN {p} n ON c.description = CAST(n AS VARCHAR)",
    "--\rEXPLAIN ANALYZE SELECT * FROM {p}",
    "EXPLAIN SELECT * FROM charges; SELECT * FROM {p}",
    "WITH x AS (SELECT * FROM {p}) SELECT * FROM x",
    "SELECT * FROM query_table('{p}')",
    "SELECT * FROM query('SELECT * FROM {p}')",
    "SELECT (SELECT string_agg(CAST(t AS VARCHAR), ',') FROM {p} t)",
    "SELECT * FROM duckdb_settings()",
    "SELECT currval('audit_log_id')",
    "SELECT * FROM main.{p}",
    "SELECT * FROM \"{p}\"",
    "SUMMARIZE {p}",
    "DESCRIBE {p}",
    "FROM {p}",
    "SELECT * FROM charges UNION ALL SELECT * FROM {p}",
    "PIVOT {p} ON id",
    "SELECT * FROM information_schema.columns",
    "COPY {p} TO '/tmp/fuzz-{p}.csv'",
    "ATTACH '/tmp/fuzz.duckdb' AS f",
    "CALL pragma_table_info('{p}')",
    "SELECT getvariable('x'), current_setting('temp_directory')",
]
NOISE = ["/**/", "/* x */", "/* /* */ */", "--x\n", "--\r\n", "\u00a0", "\u2028", "\t", "\n", " "]


def mutate(rng: random.Random, sql: str) -> str:
    words = sql.split(" ")
    out = []
    for word in words:
        r = rng.random()
        if r < 0.2:
            word = word.upper()
        elif r < 0.3:
            word = word.lower()
        elif r < 0.4:
            word = "".join(ch.upper() if rng.random() < 0.5 else ch for ch in word)
        out.append(word)
        out.append(rng.choice(NOISE) if rng.random() < 0.3 else " ")
    text = "".join(out).strip()
    if rng.random() < 0.2:
        text = rng.choice(["EXPLAIN ", "EXPLAIN ANALYZE ", "/* */EXPLAIN\n", "explain (format json) "]) + text
    if rng.random() < 0.15:
        text = text + rng.choice([";", ";;", "; SELECT 1", ";\n--"])
    return text


def generated(rng: random.Random) -> str:
    tables = list(QUERYABLE_SAMPLE) + list(PROTECTED)
    a, b = rng.choice(tables), rng.choice(tables)
    column = rng.choice(["*", "id", "count(*)", "CAST(t AS VARCHAR)", "max(CAST(t AS VARCHAR))"])
    select = f"SELECT {column} FROM {a} t"
    if rng.random() < 0.4:
        select += f" JOIN {b} u ON CAST(t AS VARCHAR) <> CAST(u AS VARCHAR)"
    if rng.random() < 0.3:
        select = f"WITH w AS ({select}) SELECT * FROM w"
    if "count" in column or "max" in column:
        select += " GROUP BY ALL"
    return select + " LIMIT 3"


def corpus() -> list[str]:
    rng = random.Random(SEED)
    texts = [k.format(p=p) for k in KNOWN[:6] for p in ("account_notes", "audit_log")]
    while len(texts) < CASES:
        if rng.random() < 0.6:
            texts.append(mutate(rng, rng.choice(KNOWN).format(p=rng.choice(PROTECTED))))
        else:
            texts.append(generated(rng))
    return texts


# --------------------------------------------------------------------------- the walls


def _direct(store: Store, sql: str) -> str:
    """What DuckDB prints for the text on the full store (no second wall), read-only, bounded in time."""
    cur = store.cursor()
    timer = threading.Timer(5, cur.interrupt)
    timer.start()
    try:
        cur.execute("BEGIN TRANSACTION READ ONLY")
        return repr(cur.execute(sql).fetchmany(50))
    except duckdb.Error as exc:
        return str(exc)
    finally:
        timer.cancel()
        try:
            cur.execute("ROLLBACK")
        except duckdb.Error:
            pass
        cur.close()


def _files(mirror_dir: Path) -> set[str]:
    """Files beside the mirror (but the explorer's copy) and the ones the attacks name in /tmp."""
    return ({str(p) for p in mirror_dir.iterdir() if ".explore." not in p.name}
            | {str(p) for p in Path("/tmp").glob("fuzz*")})


def test_no_text_shows_a_canary_and_every_refusal_is_audited(canary_store: Store, tmp_path: Path) -> None:
    mirror_dir = Path(canary_store.path).parent
    before_files = _files(mirror_dir)
    existing, database = relation_names(canary_store.cursor())
    limits = Limits(seconds=5, download_rows=50)
    accepted = 0
    for sql in corpus():
        try:
            check(sql, existing, database)
        except QueryRefused:
            pass
        else:
            accepted += 1
            assert CANARY not in _direct(canary_store, sql), f"the guard let through: {sql!r}"
        since = canary_store.cursor().execute("SELECT max(id) FROM audit_log").fetchall()[0][0]
        try:
            result = run(canary_store, ANALYST, sql, limits=limits)
            shown = result.csv() + repr(result.records())
            ended = "succeeded"
        except QueryRefused as exc:
            shown, ended = str(exc), "denied"
        except QueryFailed as exc:
            shown, ended = str(exc), "failed"
        assert CANARY not in shown, f"a canary came out of: {sql!r}"
        rows = canary_store.cursor().execute("SELECT result FROM audit_log WHERE id > ? AND action = ?",
                                             [since, AUDIT_ACTION]).fetchall()
        assert rows == [(ended,)], f"{sql!r}: audit rows {rows}, run ended {ended}"
    assert accepted, "the corpus holds queries the explorer runs, too"
    assert _files(mirror_dir) == before_files
