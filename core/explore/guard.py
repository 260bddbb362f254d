"""What the SQL explorer lets a query do: read the Stripe mirror's tables, and nothing else.

Four walls, each enough on its own for what it covers, each a test in tests/explore/test_guard.py:

1. **One reading statement.** `duckdb.extract_statements` types the text before anything runs: one
   SELECT (WITH ... SELECT, FROM ..., VALUES, DESCRIBE, SUMMARIZE); EXPLAIN, INSERT, UPDATE, DELETE,
   CREATE, ATTACH, COPY, PRAGMA, SET, INSTALL, LOAD, CALL and the rest are refused with a message naming
   the statement, and so is anything DuckDB's parser cannot type. EXPLAIN is refused because DuckDB
   offers no parse of the statement inside it: checking a text copy of it is how a nested comment once
   ran `EXPLAIN ANALYZE` on the audit log (issue 19).
2. **Only the mirror's tables.** DuckDB parses the exact text that runs (the statement as
   `extract_statements` returned it, never a copy cut by us) into its syntax tree (`json_serialize_sql`),
   which must hold exactly one statement;
   every table it names must be a Stripe mirror table (`QUERYABLE`): not the audit log, notes, risk
   reviews, sync state or saved queries (people's emails and words), and no table function but a few
   generators (`range`, `unnest`...) so `query_table('audit_log')`, `duckdb_settings()` and file readers
   are out. A WITH name may not shadow a real table or view.
3. **A connection that cannot see anything else** (core/explore/worker.py, snapshot.py): the query runs in
   a worker process on a read-only copy of the mirror's queryable tables alone (no audit log, notes,
   reviews, overrides, saved queries, sync state or sequences in that file), killed at the time limit
   and capped in memory; so a guard bug leaks nothing.
4. **No files, no network**: the worker's DuckDB has external access off and its configuration locked,
   so `read_csv('/etc/passwd')`, `read_parquet('http://...')`, INSTALL, LOAD, ATTACH and COPY fail even
   if something slipped past the first two (the app's own store is locked down the same way).
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import Any

import duckdb

from core.mirror.schema import TABLES

# What an analyst may read: the Stripe objects (Sigma's names) and which accounts left the platform.
QUERYABLE: tuple[str, ...] = (*TABLES, "account_disconnections")
# Table functions that read nothing stored: generators and JSON/list expanders.
TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest", "json_each", "json_tree"})
# Scalar functions that would tell settings of the process (paths, limits) or the state of sequences (how
# many audit rows there are: `currval('audit_log_id')`) rather than data.
SCALAR_FUNCTIONS_REFUSED = frozenset({"current_setting", "getvariable", "currval", "nextval", "setval"})
READS = "the explorer only reads: one SELECT (or WITH ... SELECT, FROM ..., VALUES, DESCRIBE, SUMMARIZE)"

# Only for naming a refused statement in its message; never part of a decision.
_LEADING_NOISE = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.DOTALL)
_WORDS = re.compile(r"[A-Za-z_]+")


class QueryRefused(ValueError):
    """The text is not a query the explorer runs; the message says why in one sentence."""


@dataclass(frozen=True)
class CheckedQuery:
    sql: str  # the one statement, as typed
    kind: str  # "SELECT" (DESCRIBE, SUMMARIZE and VALUES are SELECTs to DuckDB)
    tables: tuple[str, ...]  # mirror tables it reads, sorted


def check(sql: str, existing: set[str] | frozenset[str] = frozenset(), database: str = "") -> CheckedQuery:
    """The query if the explorer may run it, else QueryRefused.

    `existing` holds the lower-case names of every table and view of the database (system views too),
    so a WITH name cannot pass for a real table; `database` is its catalog name (allowed as a qualifier).
    """
    if not sql or not sql.strip(" \t\r\n;"):
        raise QueryRefused("the query is empty")
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.ParserException as exc:
        raise QueryRefused(f"syntax error: {_first_line(exc).removeprefix('Parser Error: ')}") from None
    except (duckdb.Error, ValueError):
        raise QueryRefused(f"{_keyword(sql)} statements are refused: {READS}") from None
    if not statements:
        raise QueryRefused("the query is empty")
    if len(statements) > 1:
        raise QueryRefused(f"one statement at a time: this text holds {len(statements)}")
    statement = statements[0]
    try:
        kind = statement.type.name
    except ValueError:  # a statement type the Python enum does not know (UPDATE EXTENSIONS)
        raise QueryRefused(f"{_keyword(sql)} statements are refused: {READS}") from None
    text = statement.query
    if kind == "EXPLAIN":
        raise QueryRefused("EXPLAIN statements are refused: the explorer checks the statement DuckDB runs, and "
                           f"DuckDB gives no parse of the one inside an EXPLAIN; run the SELECT itself. {READS}")
    if kind != "SELECT":
        words = _keyword(text)
        named = words if kind in words.upper() else f"{words} ({kind})"
        raise QueryRefused(f"{named} statements are refused: {READS}")
    tree = _syntax_tree(text)
    tables = _tables_read(tree, {n.lower() for n in existing}, database.lower())
    return CheckedQuery(sql=text, kind=kind, tables=tuple(sorted(tables)))


# --------------------------------------------------------------------------- the syntax tree

_parser_lock = threading.Lock()
_parser: duckdb.DuckDBPyConnection | None = None


def _syntax_tree(sql: str) -> dict[str, Any]:
    """DuckDB's own parse of one SELECT as JSON (an in-memory database of our own: nothing is run)."""
    global _parser
    with _parser_lock:
        if _parser is None:
            _parser = duckdb.connect(":memory:")
            _parser.execute("SET enable_external_access = false")
            _parser.execute("SET lock_configuration = true")
        row = _parser.execute("SELECT json_serialize_sql(?::VARCHAR)", [sql]).fetchone()
    tree = json.loads(row[0]) if row else {"error": True}
    if tree.get("error"):
        message = tree.get("error_message") or "cannot read this query"
        raise QueryRefused(f"cannot check this query ({message}); write it as a plain SELECT")
    if len(tree.get("statements") or []) != 1:  # the tree must be of the one statement that runs
        raise QueryRefused(f"cannot check this query (DuckDB reads it as {len(tree.get('statements') or [])} "
                           "statements); write it as one plain SELECT")
    return tree


def _tables_read(tree: dict[str, Any], existing: set[str], database: str) -> set[str]:
    """Mirror tables the query reads; QueryRefused for anything else it names."""
    ctes: set[str] = set()
    _collect_ctes(tree, ctes)
    shadows = sorted(ctes & existing)
    if shadows:
        raise QueryRefused(f"a WITH name may not be the name of a table or view: rename {shadows[0]}")
    read: set[str] = set()
    for node in _nodes(tree):
        kind = node.get("type")
        if kind == "BASE_TABLE":
            read.add(_table(node, ctes, database))
        elif kind == "SHOW_REF" and node.get("table_name"):  # SHOW TABLES, SHOW ALL TABLES
            raise QueryRefused("SHOW lists tables the explorer does not read; the schema browser lists those it does")
        elif kind == "TABLE_FUNCTION":
            name = str((node.get("function") or {}).get("function_name", "")).lower()
            if name not in TABLE_FUNCTIONS:
                raise QueryRefused(f"the table function {name}() is refused: the explorer reads the mirror's tables "
                                   f"and generators ({', '.join(sorted(TABLE_FUNCTIONS))}) only")
        elif node.get("class") == "FUNCTION" and str(node.get("function_name", "")).lower() in SCALAR_FUNCTIONS_REFUSED:
            raise QueryRefused(f"{str(node['function_name']).lower()}() is refused: it reads settings or sequences, not data")
    return read - ctes


def _table(node: dict[str, Any], ctes: set[str], database: str) -> str:
    name = str(node.get("table_name", "")).lower()
    schema = str(node.get("schema_name", "")).lower()
    catalog = str(node.get("catalog_name", "")).lower()
    if not schema and not catalog and name in ctes:
        return name
    if name in QUERYABLE and schema in ("", "main") and catalog in ("", database):
        return name
    shown = ".".join(p for p in (catalog, schema, name) if p)
    raise QueryRefused(f"{shown} is not a table the explorer reads; it reads the Stripe mirror: {', '.join(QUERYABLE)}")


def _collect_ctes(value: Any, found: set[str]) -> None:
    for node in _nodes(value):
        for entry in (node.get("cte_map") or {}).get("map", []) if isinstance(node.get("cte_map"), dict) else []:
            found.add(str(entry.get("key", "")).lower())


def _nodes(value: Any):
    """Every dict in the tree, depth first."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _keyword(sql: str) -> str:
    """The statement's first words, as typed (for messages): INSTALL, PRAGMA, CREATE TABLE."""
    words = _WORDS.findall(_LEADING_NOISE.sub("", sql)[:60])
    if not words:
        return "this"
    first = words[0].upper()
    if first in ("CREATE", "DROP", "ALTER", "FORCE") and len(words) > 1:
        return f"{first} {words[1].upper()}"
    return first


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
