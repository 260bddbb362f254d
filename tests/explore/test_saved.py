"""Saved queries: stored in DuckDB with their owner, shared with everyone who may explore, changed only by
their owner or an admin, never saved when the guard would refuse them, and audited."""
from __future__ import annotations

import pytest

from core.auth import Actor, PermissionDenied, Role
from core.explore import saved
from core.explore.guard import QueryRefused
from core.mirror.store import Store

RISK = Actor(email="rita@risk.example", role=Role.RISK)
FINANCE = Actor(email="fin@finance.example", role=Role.FINANCE)
ADMIN = Actor(email="ada@corp.example", role=Role.ADMIN)
SUPPORT = Actor(email="sam@support.example", role=Role.SUPPORT)


def test_save_list_open_change_delete(locked_store: Store) -> None:
    query = saved.save(locked_store, RISK, "Disputed card countries", "SELECT card_country, count(*) FROM charges "
                       "WHERE disputed GROUP BY 1", "  Where our disputes come from  ")
    assert query.id.startswith("q_") and query.owner_email == RISK.email
    assert query.description == "Where our disputes come from"
    cur = locked_store.cursor()
    assert saved.get(cur, query.id) == query
    assert query.id in {q.id for q in saved.list_queries(cur)}

    with pytest.raises(PermissionDenied, match="save a copy"):
        saved.save(locked_store, FINANCE, "Mine now", "SELECT 1", query_id=query.id)
    copy = saved.save(locked_store, FINANCE, "My copy", query.sql)  # anyone may copy it
    assert copy.id != query.id and copy.owner_email == FINANCE.email

    changed = saved.save(locked_store, RISK, "Disputed card countries (all time)", query.sql + " ORDER BY 2 DESC",
                         query_id=query.id)
    assert changed.id == query.id and changed.sql.endswith("ORDER BY 2 DESC") and changed.updated_at >= query.updated_at
    assert saved.save(locked_store, ADMIN, "Renamed by an admin", changed.sql, query_id=query.id).name == \
        "Renamed by an admin"

    with pytest.raises(PermissionDenied):
        saved.delete(locked_store, FINANCE, query.id)
    saved.delete(locked_store, RISK, query.id)
    assert saved.get(locked_store.cursor(), query.id) is None
    saved.delete(locked_store, ADMIN, copy.id)

    actions = locked_store.cursor().execute(
        "SELECT action, actor_email FROM audit_log WHERE target_id IN (?, ?) AND result = 'succeeded' ORDER BY id",
        [query.id, copy.id]).fetchall()
    assert actions == [("explore_save_query", RISK.email), ("explore_save_query", FINANCE.email),
                       ("explore_save_query", RISK.email), ("explore_save_query", ADMIN.email),
                       ("explore_delete_query", RISK.email), ("explore_delete_query", ADMIN.email)]


@pytest.mark.parametrize("sql", ["DELETE FROM charges", "SELECT * FROM audit_log",
                                 "SELECT * FROM read_csv('/etc/passwd')", ""])
def test_refused_sql_is_not_saved(locked_store: Store, sql: str) -> None:
    before = len(saved.list_queries(locked_store.cursor()))
    with pytest.raises((QueryRefused, ValueError)):
        saved.save(locked_store, RISK, "Nope", sql)
    assert len(saved.list_queries(locked_store.cursor())) == before


def test_a_name_is_needed_and_support_may_not_save(locked_store: Store) -> None:
    with pytest.raises(ValueError, match="name"):
        saved.save(locked_store, RISK, "  ", "SELECT 1")
    with pytest.raises(PermissionDenied):
        saved.save(locked_store, SUPPORT, "Support's", "SELECT 1")
    viewer = Actor(email="local-viewer", role=Role.ADMIN, read_only=True)
    with pytest.raises(PermissionDenied, match="read-only"):
        saved.save(locked_store, viewer, "Viewer's", "SELECT 1")


def test_saved_queries_are_not_queryable(locked_store: Store) -> None:
    """Owners' emails stay out of the explorer: its guard refuses the saved-queries table itself."""
    from core.explore.run import execute

    with pytest.raises(QueryRefused, match="explore_queries"):
        execute(locked_store.cursor(), "SELECT owner_email FROM explore_queries")


def test_every_refusal_to_save_or_delete_is_audited(locked_store: Store) -> None:
    """Issue 19: saved.save and saved.delete raised PermissionDenied without a denied audit row."""
    query = saved.save(locked_store, RISK, "Rita's", "SELECT 1 AS one")
    since = locked_store.cursor().execute("SELECT max(id) FROM audit_log").fetchall()[0][0]
    viewer = Actor(email="local-viewer", role=Role.ADMIN, read_only=True)
    for call in (lambda: saved.save(locked_store, SUPPORT, "Support's", "SELECT 1"),
                 lambda: saved.save(locked_store, viewer, "Viewer's", "SELECT 1"),
                 lambda: saved.save(locked_store, FINANCE, "Mine", "SELECT 2", query_id=query.id),
                 lambda: saved.delete(locked_store, FINANCE, query.id),
                 lambda: saved.delete(locked_store, SUPPORT, query.id)):
        with pytest.raises(PermissionDenied):
            call()
    rows = locked_store.cursor().execute("SELECT action, actor_email, result, error FROM audit_log WHERE id > ? "
                                         "ORDER BY id", [since]).fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("explore_save_query", SUPPORT.email, "denied"), ("explore_save_query", viewer.email, "denied"),
        ("explore_save_query", FINANCE.email, "denied"), ("explore_delete_query", FINANCE.email, "denied"),
        ("explore_delete_query", SUPPORT.email, "denied")]
    assert all(r[3] for r in rows), "each says why"
    saved.delete(locked_store, RISK, query.id)
