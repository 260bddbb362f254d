"""SQL explorer: read-only SQL over the Stripe mirror for risk, finance and admin; starter and saved queries,
results as a table, a CSV and a chart. Layout and widgets only: core/explore guards, runs, audits and saves."""
from __future__ import annotations

import streamlit as st

from core import clock
from core.app.st_runtime import page_header, query
from core.app.text import NAME_LIMIT, md, visible
from core.auth import PermissionDenied
from core.explore import chart, saved, schema, starters
from core.explore.guard import QUERYABLE, QueryRefused
from core.explore.run import Limits, QueryFailed, QueryResult, run

SQL = "explore_sql"  # the editor's text
SOURCE = "explore_source"  # the starter key or saved id the editor was loaded from
LOADED = "explore_loaded"  # the ?query= value already loaded (so edits are not overwritten on rerun)
RESULT = "explore_result"  # (QueryResult, source) of the last run
RUNS = "explore_runs"  # run counter: the chart pickers start afresh for each result
FLASH = "explore_flash"
LIMITS = Limits()

runtime, actor = page_header("SQL explorer", "explore")
st.caption(f"Read-only SQL ([DuckDB](https://duckdb.org/docs/sql/introduction)'s dialect) over the Stripe mirror's "
           f"tables, as fresh as the last sync. One SELECT at a time, stopped after {LIMITS.seconds:g} s; the "
           f"table shows {LIMITS.shown_rows:,} rows, the CSV up to {LIMITS.download_rows:,}. Every run is audited.")


def open_query(key: str | None) -> None:
    """Put a starter (by key) or saved query (by id) in the editor, and in the URL to share it."""
    if not key:
        return
    st.query_params["query"] = key
    st.session_state.pop(LOADED, None)


def load_from_url() -> None:
    wanted = st.query_params.get("query")
    if not wanted or st.session_state.get(LOADED) == wanted:
        return
    st.session_state[LOADED] = wanted
    starter = starters.BY_KEY.get(wanted)
    found = starter.sql if starter else getattr(query(saved.get, wanted), "sql", None)
    if found is None:
        st.warning(f"No saved query {md(wanted)}: it may have been deleted.", icon=":material/search_off:")
        return
    st.session_state[SQL] = found
    st.session_state[SOURCE] = wanted


def flash() -> None:
    message = st.session_state.pop(FLASH, None)
    if message and message[0] == "ok":
        st.success(md(message[1]), icon=":material/check:")
    elif message:
        st.error(md(message[1]), icon=":material/error:")


load_from_url()
flash()
saved_queries = query(saved.list_queries)
saved_by_id = {q.id: q for q in saved_queries}
tab_query, tab_schema, tab_saved = st.tabs(["Query", "Schema", f"Saved queries ({len(saved_queries)})"])

# --------------------------------------------------------------------------- the query


def pick_starter() -> None:
    open_query(st.session_state.get("explore_pick_starter"))
    st.session_state["explore_pick_starter"] = None


def pick_saved() -> None:
    open_query(st.session_state.get("explore_pick_saved"))
    st.session_state["explore_pick_saved"] = None


def describe_source(source: str | None) -> None:
    starter = starters.BY_KEY.get(source or "")
    mine = saved_by_id.get(source or "")
    if starter:
        st.markdown(f"**{md(starter.title)}** · starter query")
        st.caption(starter.question)  # our own words (core/explore/starters.py): markdown on purpose
    elif mine:
        st.markdown(f"**{md(mine.name, NAME_LIMIT)}** · saved by {md(mine.owner_email)} · "
                    f"changed {mine.updated_at:%Y-%m-%d %H:%M} UTC")
        if mine.description:
            st.caption(md(mine.description))
    if starter or mine:
        base = (st.context.url or "").rstrip("/")
        st.code(f"{base}?query={source}" if base else f"?query={source}", language=None, wrap_lines=True)


def run_query(sql: str, source: str | None) -> None:
    starter, mine = starters.BY_KEY.get(source or ""), saved_by_id.get(source or "")
    loaded = starter.sql if starter else getattr(mine, "sql", None)
    origin = source if loaded is not None and loaded.strip() == sql.strip() else None
    try:
        result = run(runtime.store, actor, sql, limits=LIMITS, source=origin)
        st.session_state[RESULT] = (result, origin)
    except (QueryRefused, QueryFailed, PermissionDenied) as exc:
        st.session_state.pop(RESULT, None)
        kind = "Refused" if isinstance(exc, (QueryRefused, PermissionDenied)) else "Failed"
        st.session_state[FLASH] = ("error", f"{kind}: {exc}")
    finally:
        runtime.writes += 1  # an audit row was written: the Audit log page reads it at once
    st.session_state[RUNS] = st.session_state.get(RUNS, 0) + 1


def show_chart(result: QueryResult, origin: str | None) -> None:
    frame = result.frame
    numbers = chart.numeric_columns(frame)
    if frame.empty or not numbers:
        st.caption("No chart: the result has no rows or no numeric column.")
        return
    columns = [str(c) for c in frame.columns]
    hint = starters.BY_KEY[origin].chart if origin in starters.BY_KEY else None
    x0, y0 = chart.default_axes(frame)
    color0 = None
    kind0 = "auto"
    if hint and hint.x in columns and hint.y in numbers:
        x0, y0, color0, kind0 = hint.x, hint.y, hint.color if hint.color in columns else None, hint.kind
    n = st.session_state.get(RUNS, 0)
    cols = st.columns(4)
    kind = cols[0].selectbox("Chart", chart.KINDS, index=chart.KINDS.index(kind0), key=f"explore_kind_{n}")
    x = cols[1].selectbox("x", columns, index=columns.index(x0) if x0 in columns else 0, key=f"explore_x_{n}")
    y = cols[2].selectbox("y", numbers, index=numbers.index(y0) if y0 in numbers else 0, key=f"explore_y_{n}")
    colours = [None, *columns]
    color = cols[3].selectbox("Colour", colours, index=colours.index(color0), key=f"explore_color_{n}",
                              format_func=lambda c: "none" if c is None else c)
    if len(frame) > chart.MAX_POINTS:
        st.caption(f"The chart draws the first {chart.MAX_POINTS:,} rows.")
    st.plotly_chart(chart.figure(frame, x, y, color, kind), width="stretch")


def save_form(sql: str, source: str | None) -> None:
    mine = saved_by_id.get(source or "")
    editable = mine is not None and saved.may_change(actor, mine)
    with st.form("explore_save", clear_on_submit=False, border=False):
        name = st.text_input("Name", value=mine.name if editable else "", max_chars=saved.NAME_MAX,
                             placeholder="Refunds by reason, last quarter", key=f"explore_save_name_{source}")
        description = st.text_area("Description (optional)", value=(mine.description or "") if editable else "",
                                   max_chars=saved.DESCRIPTION_MAX, height=80,
                                   placeholder="What it answers, how to read it", key=f"explore_save_text_{source}")
        cols = st.columns([1, 1, 3])
        as_new = cols[0].form_submit_button("Save as a new query", icon=":material/bookmark_add:")
        update = cols[1].form_submit_button("Save changes", icon=":material/save:", disabled=not editable,
                                            help=None if editable else "Only its owner or an admin can change a "
                                                                       "saved query; save a copy instead")
    if as_new or update:
        try:
            done = saved.save(runtime.store, actor, name, sql, description,
                              query_id=mine.id if update and mine else None)
        except (ValueError, PermissionDenied) as exc:  # QueryRefused is a ValueError
            st.session_state[FLASH] = ("error", f"Not saved: {exc}")
        else:
            st.session_state[FLASH] = ("ok", f"Saved as “{done.name}”: share it with its link.")
            st.session_state[SOURCE] = done.id
            st.session_state[LOADED] = done.id
            st.query_params["query"] = done.id
        runtime.writes += 1
        st.rerun()
    if editable and st.button("Delete this saved query", icon=":material/delete:", key="explore_delete"):
        try:
            saved.delete(runtime.store, actor, mine.id)
            st.session_state[FLASH] = ("ok", f"Deleted “{mine.name}”.")
            st.session_state.pop(SOURCE, None)
            st.query_params.pop("query", None)
        except (ValueError, PermissionDenied) as exc:
            st.session_state[FLASH] = ("error", f"Not deleted: {exc}")
        runtime.writes += 1
        st.rerun()


with tab_query:
    cols = st.columns(2)
    cols[0].selectbox("Start from a starter query", list(starters.BY_KEY), index=None, key="explore_pick_starter",
                      format_func=lambda k: starters.BY_KEY[k].title, on_change=pick_starter,
                      placeholder="Merchants whose refunds doubled, disputes by card country…")
    cols[1].selectbox("Open a saved query", list(saved_by_id), index=None, key="explore_pick_saved",
                      format_func=lambda k: visible(f"{saved_by_id[k].name} ({saved_by_id[k].owner_email})",
                                                    NAME_LIMIT) if k in saved_by_id else k,
                      on_change=pick_saved, placeholder="Saved by you and your colleagues",
                      disabled=not saved_by_id)
    source = st.session_state.get(SOURCE)
    describe_source(source)
    sql = st.text_area("SQL", key=SQL, height=260,
                       placeholder="SELECT country, count(*) FROM connected_accounts GROUP BY 1",
                       help=f"Tables: {', '.join(QUERYABLE)} (see Schema). Amounts are integers in minor units of "
                            "their currency. JSON fields: raw ->> '$.field'.")
    if st.button("Run", type="primary", icon=":material/play_arrow:", key="explore_run"):
        run_query(sql or "", source)
        st.rerun()
    last = st.session_state.get(RESULT)
    if last is not None:
        result, origin = last
        st.caption(result.summary)
        st.dataframe(result.shown, hide_index=True, width="stretch")
        st.download_button(f"Download CSV ({result.rows:,} rows)", data=result.csv, on_click="ignore",
                           file_name=f"connect-ops-query-{clock.today()}.csv", mime="text/csv",
                           icon=":material/download:", key="explore_download")
        with st.expander("The query as run"):
            st.code(result.sql, language="sql", wrap_lines=True)
        st.subheader("Chart")
        show_chart(result, origin)
    with st.expander("Save this query", icon=":material/bookmark:"):
        save_form(sql or "", source)

# --------------------------------------------------------------------------- the schema

with tab_schema:
    tables = query(schema.tables)
    st.caption("The tables the explorer reads: Stripe's objects under Stripe Sigma's names, each with its typed "
               "columns and the whole object in `raw`. The audit log, notes, reviews and saved queries are not "
               "among them.")
    st.dataframe([{"table": t.name, "rows": t.rows, "meaning": t.meaning} for t in tables], hide_index=True,
                 width="stretch")
    names = [t.name for t in tables]
    picked = st.selectbox("Table", names, key="explore_schema_table") if names else None
    info = next((t for t in tables if t.name == picked), None)
    if info is not None:
        st.dataframe([{"column": c.name, "type": c.type, "meaning": c.meaning} for c in info.columns],
                     hide_index=True, width="stretch")
        st.caption(f"A few of the newest rows of {info.name}")
        st.dataframe(query(schema.examples, info.name), hide_index=True, width="stretch")

# --------------------------------------------------------------------------- saved queries

with tab_saved:
    if not saved_queries:
        st.info("No saved query yet: run one, then *Save this query* under the editor.", icon=":material/bookmarks:")
    else:
        st.caption("Open one in the editor with *Open a saved query*, or share its link.")
        st.dataframe([{"name": visible(q.name, NAME_LIMIT), "owner": q.owner_email, "description": q.description,
                       "changed": q.updated_at, "link": f"?query={q.id}"} for q in saved_queries],
                     hide_index=True, width="stretch",
                     column_config={"link": st.column_config.LinkColumn("link", display_text="open")})
    st.caption("Starter queries")
    st.dataframe([{"title": s.title, "question": s.question, "link": f"?query={s.key}"} for s in starters.STARTERS],
                 hide_index=True, width="stretch",
                 column_config={"link": st.column_config.LinkColumn("link", display_text="open")})
