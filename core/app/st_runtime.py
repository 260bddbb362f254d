"""The one module of core that knows Streamlit: per-process caching of the runtime and of queries.

Query results are cached per data version (it moves on when a sync finishes, and with each progress
line of a sync under way), so a sync that commits makes every page read fresh rows without anyone
clearing caches by hand. Nothing here waits for the first sync: page_header shows its progress.
"""
from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from core.app.freshness import freshness
from core.app.runtime import Runtime, build_runtime
from core.app.text import md
from core.auth import Actor, allowed
from core.clock import utc_now
from core.settings import Settings, load_settings

T = TypeVar("T")
APP_HOME = "app.py"
QUERY_TTL_SECONDS = 600
LOADING_REFRESH_SECONDS = 2  # how often the first-sync notice updates itself


def get_runtime(settings: Settings | None = None) -> Runtime:
    """The process's runtime for these settings (one per distinct configuration)."""
    settings = settings or load_settings()
    return _runtime(settings.model_dump_json())


@st.cache_resource(show_spinner="Starting Connect Ops…")
def _runtime(settings_json: str) -> Runtime:
    runtime = build_runtime(Settings.model_validate_json(settings_json))
    runtime.start()  # the first sync at once, in the background, when the mirror never synced
    return runtime


def query(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """fn(cursor, *args, **kwargs), cached until the next sync or action commits (or the TTL passes)."""
    runtime = get_runtime()
    return _cached_query(fn.__module__, fn.__qualname__, runtime.store.path, runtime.data_version, args,
                         tuple(sorted(kwargs.items())))


def act(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a core action with this process's context; cached reads refresh afterwards, even if it failed."""
    runtime = get_runtime()
    try:
        return fn(runtime.action_context(), *args, **kwargs)
    finally:
        runtime.writes += 1


@st.cache_data(ttl=QUERY_TTL_SECONDS, show_spinner=False, max_entries=512)
def _cached_query(module: str, name: str, store_path: str, version: tuple[int, ...], args: tuple[Any, ...],
                  kwargs: tuple[tuple[str, Any], ...] = ()) -> Any:
    fn = getattr(importlib.import_module(module), name)
    return fn(get_runtime().store.cursor(), *args, **dict(kwargs))


def guard(page_key: str) -> Actor:
    """Every page checks access itself: Streamlit can run a file in pages/ without the entrypoint (its
    v1 multipage mode, e.g. on a server's first request), so the navigation alone is not enough."""
    actor = st.session_state.get("actor")
    settings = load_settings()
    signed_out = settings.sign_in_configured and (
        not st.user.is_logged_in or str(st.user.get("email") or "") != getattr(actor, "email", None))
    if actor is None or signed_out or not allowed(actor, f"page:{page_key}"):
        st.error("You do not have access to this page.", icon=":material/block:")
        st.page_link(APP_HOME, label="Go to Connect Ops", icon=":material/home:")
        st.stop()
    return actor


def page_header(title: str, page_key: str) -> tuple[Runtime, Actor]:
    """Access check, title and data freshness (or the first sync's progress): the first lines of every page."""
    actor = guard(page_key)
    runtime = get_runtime()
    st.title(title)
    if runtime.loading_notice() is not None:
        _loading_notice(runtime, runtime.has_data())
        return runtime, actor
    state = freshness(runtime.store.runs(), utc_now(), runtime.stale_after)
    if state.level in ("fresh", "running"):
        st.caption(f":material/sync: {state.text}")
    else:
        detail = f": {md(state.error)}" if state.error else ""  # an error's text may quote what Stripe sent
        st.warning(f"{state.text}{detail}", icon=":material/sync_problem:")
    return runtime, actor


@st.fragment(run_every=LOADING_REFRESH_SECONDS)
def _loading_notice(runtime: Runtime, had_data: bool) -> None:
    """The first sync's progress, refreshed in place. The whole page reruns when the first rows arrive
    and when the sync ends (complete figures, or its error); in between only on the reader's own
    clicks (each reads what is committed so far), so nobody loses a half-filled form to a refresh."""
    notice = runtime.loading_notice()
    if notice is None or (not had_data and runtime.has_data()):
        st.rerun(scope="app")
    st.info(notice, icon=":material/downloading:")


def sync_with_progress(runtime: Runtime, label: str) -> Any:
    """Run a sync in a worker thread and show its progress lines here (Streamlit calls stay on this thread)."""
    lines: list[str] = []
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["result"] = runtime.scheduler.run_once(progress=lines.append)
        except Exception as exc:  # shown below, and recorded in sync_runs
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="connect-ops-sync-now", daemon=True)
    with st.status(label, expanded=True) as status:
        line = st.empty()
        worker.start()
        while worker.is_alive():
            if lines:
                line.write(md(lines[-1]))
            time.sleep(0.3)
        worker.join()
        if "error" in outcome:
            status.update(label=f"Sync failed: {md(outcome['error'])}", state="error")
            return None
        result = outcome["result"]
        status.update(label=f"Synced {result.objects:,} objects with {result.requests:,} requests "
                            f"in {result.seconds:.1f} s", state="complete", expanded=False)
        return result
