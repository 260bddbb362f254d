"""The sync engine: a complete, incremental, crash-safe copy of a Connect platform in DuckDB.

How it stays exact:

* Per scope (the platform, each connected account), an *events watermark* is taken before anything in
  that scope is listed. Everything that changes afterwards has an event newer than the watermark, so
  listing (backfill) plus replaying events since the watermark, oldest first, ends at the current state.
* Backfill work is split into units (scope x resource x created-window). A unit's cursor and the rows
  of the page that advanced it commit in one DuckDB transaction: a killed sync resumes right after the
  last committed page, so nothing committed is read twice.
* Keys are kept by this writer, not by an index (core/store.py, migration 5): a scope's first listing
  appends, since no key of it can exist yet (SyncEngine.fresh_for); every other write replaces by key.
* Events replay per scope by created-time window (with an overlap, since events in the same second
  are not ordered by id), read newest first a page at a time; each object keeps the first (newest)
  snapshot met. A scope's replay starts once its listing is committed (ReplayGate), while other
  scopes are still listed.
* What changes without an event of its own is refreshed explicitly: balance transactions (new ones,
  and pending ones whose `available_on` passed), the charge of a dispute, and the `py_` payment, its
  refunds and balance transactions in the destination account of a transfer.

Work runs in a thread pool paced by StripeApi's token buckets; one writer thread commits pages in
groups (DuckDB's cost is per statement and per row, so grouping pages keeps the writer ahead).
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from core.mirror.schema import table_of, table_of_object
from core.mirror.store import PLATFORM, Store
from core.stripe_api import AccountAccessError, Page, ResourceMissingError, StripeApi

log = logging.getLogger("connect_ops.sync")

PLATFORM_RESOURCES = ("accounts", "charges", "transfers", "application_fees", "refunds", "disputes",
                      "balance_transactions", "payouts", "events")
ACCOUNT_RESOURCES = ("charges", "refunds", "disputes", "payouts", "balance_transactions", "events")
EVENT_RETENTION = 30 * 86400
RETENTION_MARGIN = 3600  # re-backfill a little before Stripe drops the events we would need
EVENT_OVERLAP = 300  # seconds re-read before the watermark: same-second events and clock skew
EVENT_WINDOW = 86400  # a replay commits its watermark at least once per day of events
PAGE = 100
CLOCK_SKEW_NOTE = 30  # seconds of difference between our clock and Stripe's worth a line in the run log
MIN_SPLIT_SPAN = 2  # seconds; a window narrower than this is paged, not split


def scope_label(scope: str) -> str:
    return scope or "platform"


# Objects whose events carry their newest snapshot (balance transactions have no events of their own).
_EVENT_OBJECT_TABLES = {o: table_of_object(o) for o in ("account", "charge", "transfer", "payout", "application_fee",
                                                        "refund", "dispute")}
# --------------------------------------------------------------------------- results and progress


@dataclass
class StreamStats:
    objects: int = 0
    requests: int = 0


@dataclass
class SyncResult:
    run_id: int
    mode: str
    objects: int
    requests: int
    seconds: float
    streams: dict[str, StreamStats]
    log: list[str]


@dataclass
class Write:
    """What one task commits: rows, sync_state changes, and what to do once they are durable."""

    rows: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # (table, scope, object)
    # (table, scope, list response body, objects in it): rows the store extracts in SQL
    pages: list[tuple[str, str, str, int]] = field(default_factory=list)
    units: list[dict[str, Any]] = field(default_factory=list)
    delete_scopes: list[str] = field(default_factory=list)  # drop all sync_state of these scopes first
    after: Callable[[], None] | None = None
    fresh: bool = False  # pages of a scope's first listing: appended, since none of their keys can exist
    deletes: list[tuple[str, str, str]] = field(default_factory=list)  # (table, scope, id) Stripe deleted
    disconnect: list[tuple[str, int, str]] = field(default_factory=list)  # (account, Stripe time, how)


# --------------------------------------------------------------------------- tasks


class Task:
    """One request against Stripe; returns the write it produced and follow-up tasks."""

    endpoint = "GET /v1/events"
    stream = "events"

    def run(self, engine: SyncEngine) -> tuple[Write | None, list[Task]]:
        raise NotImplementedError


@dataclass
class BackfillUnit(Task):
    """A created-window of one resource in one scope, paged newest first from `cursor`."""

    unit_id: str
    scope: str
    resource: str
    window_start: int = 0
    window_end: int | None = None
    cursor: str | None = None
    done: bool = False
    hint_start: int = 0  # where data probably begins; only steers where windows are split
    fresh: bool = False  # the scope's first listing of this resource (see SyncEngine.fresh_for)

    @property
    def endpoint(self) -> str:  # type: ignore[override]
        return f"GET /v1/{self.resource}"

    @property
    def stream(self) -> str:  # type: ignore[override]
        return table_of(self.resource)

    def state(self) -> dict[str, Any]:
        return {"unit_id": self.unit_id, "kind": "backfill", "scope": self.scope, "resource": self.resource,
                "window_start": self.window_start, "window_end": self.window_end, "cursor": self.cursor,
                "done": self.done, "fresh": self.fresh}

    def run(self, engine: SyncEngine) -> tuple[Write | None, list[Task]]:
        created: dict[str, int] = {"gte": self.window_start}
        if self.window_end is not None:
            created["lt"] = self.window_end
        params: dict[str, Any] = {"limit": PAGE, "created": created}
        if self.cursor:
            params["starting_after"] = self.cursor
        page = engine.api.list(self.resource, params, self.scope or None)
        if page.data:
            self.cursor = page.data[-1]["id"]
        self.done = not page.has_more
        follow: list[Task] = []
        split = None if self.done else self._split(engine, page)
        # After the split: the window this unit keeps and the one it hands over must commit together,
        # disjoint, or a resumed run lists the handed-over window twice (and appends it twice).
        units = [self.state()]
        if split is not None:
            engine.gate.open(self.scope, split.unit_id, accounts=self.resource == "accounts")
            units.append(split.state())
            follow.append(split)
        if not self.done:
            follow.insert(0, self)
        table = table_of(self.resource)
        write = Write(pages=[_page_row(table, self.scope, page)], units=units, fresh=self.fresh)
        ids = [obj["id"] for obj in page.data] if self.resource == "accounts" else []
        done, unit_id, scope = self.done, self.unit_id, self.scope
        if ids or done:
            def after() -> None:
                if ids:
                    engine.discover_accounts(ids)
                if done:
                    engine.gate.close(scope, unit_id)
            write.after = after
        return write, follow

    def _split(self, engine: SyncEngine, page: Page) -> BackfillUnit | None:
        """Hand the older half of the remaining window to a new unit while workers would idle."""
        if not page.data or not engine.wants_more_work():
            return None
        oldest = int(page.data[-1]["created"])
        low = max(self.window_start, min(self.hint_start, oldest))
        if oldest - low < MIN_SPLIT_SPAN:
            if oldest - self.window_start < MIN_SPLIT_SPAN:
                return None
            low = self.window_start
        middle = (low + oldest) // 2 if low < oldest - 1 else oldest - 1
        middle = max(middle, self.window_start + 1)
        if middle >= oldest:
            return None
        new = BackfillUnit(new_unit_id(self.scope, self.resource), self.scope, self.resource,
                           self.window_start, middle, hint_start=self.hint_start, fresh=self.fresh)
        self.window_start = middle
        return new


def new_unit_id(scope: str, resource: str) -> str:
    return f"backfill:{scope_label(scope)}:{resource}:{uuid.uuid4().hex[:10]}"


@dataclass
class AnchorScope(Task):
    """Fix a scope's events watermark, then create its backfill units (in the same transaction).

    The watermark is taken before anything of the scope is listed: a change after it has an event
    at or after it, a change before it is in what the listing returns.
    """

    scope: str
    hint_start: int = 0

    endpoint = "anchor"  # no request of its own: Stripe's clock, as its last responses' Date told it

    def run(self, engine: SyncEngine) -> tuple[Write | None, list[Task]]:
        watermark = engine.api.stripe_now() - 1
        resources = PLATFORM_RESOURCES if self.scope == PLATFORM else ACCOUNT_RESOURCES
        units = [BackfillUnit(new_unit_id(self.scope, r), self.scope, r, hint_start=self.hint_start,
                              fresh=engine.fresh_for(self.scope, table_of(r)))
                 for r in resources]
        events_state = {"unit_id": events_unit_id(self.scope), "kind": "events", "scope": self.scope,
                        "resource": "events", "cursor_created": watermark, "done": False}
        engine.note(f"{scope_label(self.scope)}: events watermark {watermark}, backfill planned")
        engine.gate.plan(self.scope, watermark, [(u.unit_id, u.resource == "accounts") for u in units])
        write = Write(units=[events_state, *(u.state() for u in units)], delete_scopes=[self.scope])
        return write, list(units)


def refresh_unit_id(scope: str) -> str:
    return f"refresh:{scope}"


def events_unit_id(scope: str) -> str:
    return f"events:{scope_label(scope)}"


@dataclass
class ReplayEvents(Task):
    """Apply a scope's events from its watermark on, one created-window (at most a day) at a time.

    A window is read a page at a time, newest first, and each object takes the first (newest)
    snapshot met, so memory and transactions stay one page big however busy the day was. The new
    watermark commits with the window's last page; a sync killed before it replays the window again.
    """

    scope: str
    watermark: int
    window_end: int | None = None  # the window's `created[lt]`; None: up to now
    next_watermark: int = 0
    cursor: str | None = None
    seen: set[tuple[str, str]] = field(default_factory=set)  # (table, id) already given their newest snapshot

    def run(self, engine: SyncEngine) -> tuple[Write | None, list[Task]]:
        if self.cursor is None:
            now = engine.api.stripe_now()
            if self.watermark < now - EVENT_RETENTION + RETENTION_MARGIN:
                return engine.rebackfill(self.scope, "its events cursor is older than Stripe's 30-day retention")
            end = self.watermark + EVENT_WINDOW
            self.window_end, self.next_watermark = (None, now - 1) if end > now else (end, end)
        created: dict[str, int] = {"gte": self.watermark - EVENT_OVERLAP}
        if self.window_end is not None:
            created["lt"] = self.window_end
        page = engine.api.list("events", _paged({"limit": PAGE, "created": created}, self.cursor), self.scope or None)
        write = engine.apply_events(self.scope, page.data, self.seen)
        self.cursor = _next_cursor(page)
        if self.cursor:
            return write, [self]
        write.units.append({"unit_id": events_unit_id(self.scope), "kind": "events", "scope": self.scope,
                            "resource": "events", "cursor_created": self.next_watermark, "done": True})
        follow: list[Task] = [] if self.window_end is None else [ReplayEvents(self.scope, self.next_watermark)]
        return write, follow


@dataclass
class ResourceTask(Task):
    """A request about one resource of one scope; its objects count towards that resource's table."""

    scope: str
    resource: str

    @property
    def stream(self) -> str:  # type: ignore[override]
        return table_of(self.resource)


@dataclass
class Relist(ResourceTask):
    """Re-read one resource of one scope from a time on (objects that change without events), a page per run."""

    since: int
    cursor: str | None = None

    @property
    def endpoint(self) -> str:  # type: ignore[override]
        return f"GET /v1/{self.resource}"

    def params(self) -> dict[str, Any]:
        return _paged({"limit": PAGE, "created": {"gte": self.since}}, self.cursor)

    def run(self, engine: SyncEngine) -> tuple[Write | None, list[Task]]:
        page = engine.api.list(self.resource, self.params(), self.scope or None)
        write = self.write_for(engine, page)
        self.cursor = _next_cursor(page)
        return write, [self] if self.cursor else []

    def write_for(self, engine: SyncEngine, page: Page) -> Write:
        return Write(pages=[_page_row(table_of(self.resource), self.scope, page)])


@dataclass
class RelistWithSources(Relist):
    """Re-read a scope's objects with the objects they point at expanded, in one request per page.

    Balance transactions bring their sources (and a refund source's charge); disputes bring their
    charges. Each object is written on its own row with its references collapsed back to ids, so the
    rows are what a plain list or retrieve would have given.
    """

    EXPAND = {"balance_transactions": ("source", ("data.source", "data.source.charge")),
              "disputes": ("charge", ("data.charge",))}

    def params(self) -> dict[str, Any]:
        return {**super().params(), "expand": list(self.EXPAND[self.resource][1])}

    def write_for(self, engine: SyncEngine, page: Page) -> Write:
        key = self.EXPAND[self.resource][0]
        write = Write()
        for obj in page.data:
            _unexpand(obj, key, self.scope, write)
            write.rows.append((table_of(self.resource), self.scope, obj))
        return write


def _unexpand(obj: dict[str, Any], key: str, scope: str, write: Write) -> None:
    """Put the expanded object at `obj[key]` (and its own expanded `charge`) on rows; leave its id."""
    inner = obj.get(key)
    if not isinstance(inner, dict) or not inner.get("id"):
        return
    _unexpand(inner, "charge", scope, write)
    obj[key] = inner["id"]
    table = _EVENT_OBJECT_TABLES.get(str(inner.get("object", "")))
    if table and table != "connected_accounts":
        write.rows.append((table, scope, inner))


@dataclass
class Retrieve(ResourceTask):
    """Fetch one object whose change raised no event of its own (a charge when disputed, a py_)."""

    object_id: str

    @property
    def endpoint(self) -> str:  # type: ignore[override]
        return f"GET /v1/{self.resource}/{{id}}"

    def run(self, engine: SyncEngine) -> tuple[Write | None, list[Task]]:
        try:
            obj = engine.api.retrieve(self.resource, self.object_id, self.scope or None)
        except ResourceMissingError:
            return None, []
        return Write(rows=[(table_of(self.resource), self.scope, obj)]), []


# --------------------------------------------------------------------------- scheduler and writer


class Scheduler:
    """Worker threads taking tasks by endpoint, the one whose rate budget frees soonest first."""

    def __init__(self, engine: SyncEngine, workers: int) -> None:
        self.engine = engine
        self.workers = workers
        self._pending: dict[str, deque[Task]] = defaultdict(deque)
        self._count = 0
        self._running = 0
        self._deferred = 0  # committed-later writes whose `after` may still submit tasks
        self._cond = threading.Condition()
        self._error: BaseException | None = None

    def submit(self, tasks: Iterable[Task]) -> None:
        with self._cond:
            for task in tasks:
                self._pending[task.endpoint].append(task)
                self._count += 1
            self._cond.notify_all()

    def _defer(self, write: Write) -> None:
        """Keep the run alive until the write's `after` (which may submit tasks) has run."""
        after = write.after
        assert after is not None
        with self._cond:
            self._deferred += 1

        def wrapped() -> None:
            try:
                after()
            finally:
                with self._cond:
                    self._deferred -= 1
                    self._cond.notify_all()

        write.after = wrapped

    def pending(self) -> int:
        return self._count

    def fail(self, error: BaseException) -> None:
        with self._cond:
            if self._error is None:
                self._error = error
            self._cond.notify_all()

    def run_until_idle(self) -> None:
        threads = [threading.Thread(target=self._work, name=f"sync-{i}", daemon=True) for i in range(self.workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if self._error is not None:
            raise self._error

    def _take(self) -> Task | None:
        with self._cond:
            while True:
                if self._error is not None:
                    return None
                if self._count:
                    endpoint = min((e for e, q in self._pending.items() if q),
                                   key=self.engine.api.ready_in)
                    self._count -= 1
                    self._running += 1
                    return self._pending[endpoint].popleft()
                if self._running == 0 and self._deferred == 0:
                    self._cond.notify_all()
                    return None
                self._cond.wait(0.5)

    def _work(self) -> None:
        while (task := self._take()) is not None:
            try:
                try:
                    write, follow = task.run(self.engine)
                except AccountAccessError as exc:
                    write, follow = self.engine.lost_access(exc.account or getattr(task, "scope", None), exc), []
                if write is not None:
                    if write.after is not None:
                        self._defer(write)
                    self.engine.writer.put(write)
                self.engine.count_stream(task, write)
                self.submit(follow)
            except BaseException as exc:  # noqa: BLE001 - any failure stops the run, reported once
                self.fail(exc)
            finally:
                with self._cond:
                    self._running -= 1
                    self._cond.notify_all()


class Writer:
    """The single writing thread: commits queued writes in groups, each group one transaction."""

    def __init__(self, store: Store, on_error: Callable[[BaseException], None], max_group: int = 32,
                 linger: float = 0.3) -> None:
        self.store = store
        self.on_error = on_error
        self.max_group = max_group
        self.linger = linger  # how long a group waits for company: DuckDB's cost is mostly per commit
        self._queue: queue.Queue[Write | None] = queue.Queue(maxsize=24)  # bounds memory
        self._thread = threading.Thread(target=self._loop, name="sync-writer", daemon=True)
        self._failed: BaseException | None = None
        self.objects = 0
        self.appended: set[str] = set()  # tables this run appended to (first listings)

    def start(self) -> None:
        self._thread.start()

    def put(self, write: Write) -> None:
        if self._failed is not None:
            raise self._failed
        self._queue.put(write)

    def flush(self) -> None:
        """Wait until everything queued is committed (or raise what the writer hit)."""
        self._queue.join()
        if self._failed is not None:
            raise self._failed

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                self._queue.task_done()
                return
            group = [first]
            deadline = time.monotonic() + self.linger
            while len(group) < self.max_group:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # keep the stop signal for the outer loop
                    self._queue.task_done()
                    break
                group.append(item)
            try:
                if self._failed is None:
                    self._commit(group)
            except BaseException as exc:  # noqa: BLE001
                self._failed = exc
                self.on_error(exc)
            finally:
                for _ in group:
                    self._queue.task_done()

    def _commit(self, group: list[Write]) -> None:
        # per table, in write order: (scope, JSON text, is a list body); DuckDB derives the columns
        by_table: dict[tuple[str, bool], list[tuple[str, str, bool]]] = defaultdict(list)  # (table, append)
        units: dict[str, dict[str, Any]] = {}  # unit_id -> its latest state in this group, saved at once
        with self.store.transaction() as conn:
            deletes: dict[str, list[tuple[str, str]]] = defaultdict(list)
            for write in group:
                for table, scope, object_id in write.deletes:
                    deletes[table].append((scope, object_id))
                for account, at, how in write.disconnect:
                    self.store.mark_disconnected(conn, account, at, how)
                    units = {k: u for k, u in units.items() if u["scope"] != account}
                for scope in write.delete_scopes:
                    self.store.delete_scope_units(conn, scope)
                    units = {k: u for k, u in units.items() if u["scope"] != scope}  # deleted too, in order
                for table, scope, obj in write.rows:
                    by_table[table, False].append((scope, json.dumps(obj, separators=(",", ":")), False))
                for table, scope, body, _ in write.pages:
                    by_table[table, write.fresh].append((scope, body, True))
                for unit in write.units:
                    units.pop(unit["unit_id"], None)
                    units[unit["unit_id"]] = unit
            self.store.save_units(conn, list(units.values()))
            for (table, append), items in sorted(by_table.items(), key=lambda kv: kv[0][1]):  # replacing first
                self.objects += self.store.upsert_json(conn, table, items, append=append)
                if append:
                    self.appended.add(table)
            for table, keys in deletes.items():
                self.store.delete_objects(conn, table, keys)
        for write in group:
            if write.after is not None:
                write.after()


class ReplayGate:
    """Starts a scope's event replay as soon as everything listed in it is committed.

    Replay must follow the scope's listing in commit order: a page read before an event but
    committed after its snapshot would otherwise win with older data. So a scope's replay waits for
    its own backfill units, and every scope waits for the platform's account listing (account rows
    are written by the platform's list and by each account's own `account.updated` events), which
    ends with one re-list of the accounts created meanwhile. Scopes then replay while others are
    still listing, so the events endpoint works beside the list endpoints instead of after them.
    """

    NEW_ACCOUNTS = "new-accounts"

    def __init__(self, engine: SyncEngine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._open: dict[str, set[str]] = defaultdict(set)
        self._accounts_open: set[str] = set()
        self._start_at: dict[str, int] = {}  # scope -> created time its replay starts from
        self._replaying: set[str] = set()
        self._running = False

    def plan(self, scope: str, watermark: int, units: list[tuple[str, bool]]) -> None:
        """A scope (re)anchored: its units are open and its replay (again) waits for them."""
        with self._lock:
            self._start_at[scope] = watermark
            self._replaying.discard(scope)
            for unit_id, is_accounts in units:
                self._open_locked(scope, unit_id, is_accounts)

    def resume(self, scope: str, start_at: int) -> None:
        with self._lock:
            self._start_at[scope] = start_at

    def open(self, scope: str, unit_id: str, *, accounts: bool = False) -> None:
        with self._lock:
            self._open_locked(scope, unit_id, accounts)

    def _open_locked(self, scope: str, unit_id: str, is_accounts: bool) -> None:
        self._open[scope].add(unit_id)
        if is_accounts and scope == PLATFORM:
            self._accounts_open.add(unit_id)

    def close(self, scope: str, unit_id: str) -> None:
        """A unit's last page is committed."""
        relist = False
        with self._lock:
            self._open[scope].discard(unit_id)
            if unit_id in self._accounts_open:
                self._accounts_open.discard(unit_id)
                relist = not self._accounts_open and unit_id != self.NEW_ACCOUNTS
                if relist:
                    self._accounts_open.add(self.NEW_ACCOUNTS)
                    self._open[PLATFORM].add(self.NEW_ACCOUNTS)
        if relist:
            self.engine.scheduler.submit([self.engine.new_accounts_task()])
        self._release()

    def start(self) -> None:
        """Begin releasing scopes; a platform anchored before (no account listing now) re-lists new accounts."""
        relist = False
        with self._lock:
            self._running = True
            if PLATFORM in self._start_at and not self._accounts_open:
                self._accounts_open.add(self.NEW_ACCOUNTS)
                self._open[PLATFORM].add(self.NEW_ACCOUNTS)
                relist = True
        if relist:
            self.engine.scheduler.submit([self.engine.new_accounts_task()])
        self._release()

    def _release(self) -> None:
        with self._lock:
            if not self._running or self._accounts_open:
                return
            ready = [scope for scope, start in self._start_at.items()
                     if scope not in self._replaying and not self._open[scope]]
            self._replaying.update(ready)
            tasks = [ReplayEvents(scope, self._start_at[scope]) for scope in ready]
        for scope in ready:
            self.engine.store.release_listing(scope)
        self.engine.scheduler.submit(tasks)


# --------------------------------------------------------------------------- the engine


class SyncEngine:
    """One sync run; `run()` does a backfill where needed and an incremental sync everywhere else."""

    def __init__(self, store: Store, api: StripeApi, *, workers: int | None = None,
                 progress: Callable[[str], None] | None = None, progress_every: float = 5.0) -> None:
        self.store = store
        self.api = api
        self.workers = workers or max(8, min(64, int(api.global_bucket.rate * 0.6) + 1))
        self.progress = progress
        self.progress_every = progress_every
        self.streams: dict[str, StreamStats] = defaultdict(StreamStats)
        self._streams_lock = threading.Lock()
        self._log: list[str] = []
        self._after_cut_run = False  # the previous run did not finish: check every table's keys
        self._anchored: set[str] = set()
        self._anchored_tables: set[tuple[str, str]] = set()
        self._present: dict[str, set[str]] = {}  # table -> scopes with rows when the run began
        self._anchor_lock = threading.Lock()
        self._lost: set[str] = set()  # accounts that refused access during this run
        self._gone: set[str] = set()  # accounts that had left the platform before this run
        self._touched: dict[str, int] = {}  # scope -> earliest event created applied this run
        self._retrieve: set[tuple[str, str, str]] = set()
        # balance transactions the applied events reference, per scope (new ones are fetched, not re-listed)
        self._bt_refs: dict[str, set[str]] = defaultdict(set)
        self._bt_unsure: set[str] = set()  # scopes where an event may hide a new balance transaction
        self._with_sources: dict[str, int] = {}  # scope -> re-list its balance transactions with sources from
        self._disputed: dict[str, dict[str, int]] = defaultdict(dict)  # scope -> charge -> its dispute's created
        self._related_lock = threading.Lock()
        self.scheduler = Scheduler(self, self.workers)
        self.writer = Writer(store, self.scheduler.fail)
        self.gate = ReplayGate(self)

    # -- public

    def run(self, full: bool = False) -> SyncResult:
        mode = "full" if full or not self.store.units("events") else "incremental"
        earlier = self.store.runs()
        self._after_cut_run = bool(earlier) and earlier[-1]["status"] != "succeeded"  # killed or failed
        run_id = self.store.start_run(mode)
        started = time.monotonic()
        requests_before = self.api.stats.requests
        self.writer.start()
        stop_progress = self._start_progress(started)
        try:
            self._list_and_replay(full)
            self._refresh_phase()
            self.writer.flush()
            self._check_keys()
            with self.store.transaction() as conn:
                self.store.delete_units(conn, "refresh")
        except BaseException as exc:
            stop_progress()
            self.writer.stop()
            message = one_line(exc)
            self.store.finish_run(run_id, "failed", self.writer.objects,
                                  self.api.stats.requests - requests_before, message, self._log)
            raise
        stop_progress()
        self.writer.stop()
        requests = self.api.stats.requests - requests_before
        self.store.finish_run(run_id, "succeeded", self.writer.objects, requests, None, self._log)
        per_stream = self.stream_requests()
        for name, n in per_stream.items():
            self.streams[name].requests = n
        return SyncResult(run_id, mode, self.writer.objects, requests, time.monotonic() - started,
                          dict(self.streams), list(self._log))

    # -- phases

    def _list_and_replay(self, full: bool) -> None:
        """List what was never listed (resuming cut units), replaying each scope's events once it is.

        Scopes never anchored are anchored (platform first, then each account as the account list
        reveals it); a scope whose events cursor outlived Stripe's retention is anchored again.
        """
        self._note_clock()
        if full:
            with self.store.transaction() as conn:
                self.store.delete_all_units(conn)
            self.note("full sync requested: every scope is listed again")
        self._present = self.store.scopes_by_table()
        unfinished = {u["scope"]: int(u["cursor_created"]) for u in self.store.units("refresh")}
        if unfinished:
            self.note(f"{len(unfinished)} scope(s) had refreshes cut short by an interrupted sync: "
                      "replaying their events from there")
        tasks: list[Task] = []
        gone = self._gone = self.store.disconnected_accounts()  # never polled again (their state went with them)
        for unit in self.store.units("backfill"):
            if unit["scope"] in gone:
                continue
            if not unit["done"]:
                self.gate.open(unit["scope"], unit["unit_id"], accounts=unit["resource"] == "accounts")
                tasks.append(BackfillUnit(unit["unit_id"], unit["scope"], unit["resource"], unit["window_start"],
                                          unit["window_end"], unit["cursor"], False, fresh=bool(unit["fresh"])))
        for unit in self.store.units("events"):
            if unit["scope"] in gone:
                continue
            cursor = int(unit["cursor_created"])
            self.gate.resume(unit["scope"], min(cursor, unfinished.get(unit["scope"], cursor)))
            self._anchored.add(unit["scope"])
        if PLATFORM not in self._anchored:
            self._anchored.add(PLATFORM)
            tasks.append(AnchorScope(PLATFORM, hint_start=self.api.stripe_now() - 400 * 86400))
        self.scheduler.submit(tasks)
        self.discover_accounts(self._known_accounts())
        self.gate.start()
        self.scheduler.run_until_idle()
        self.writer.flush()

    def _note_clock(self) -> None:
        """Learn Stripe's time before anything is anchored (one request if need be); say when ours is off."""
        self.api.stripe_now()
        skew = self.api.clock.skew()
        if skew is not None and abs(skew) >= CLOCK_SKEW_NOTE:
            self.note(f"this machine's clock is {abs(skew):,.0f} s {'ahead of' if skew > 0 else 'behind'} "
                      "Stripe's; the sync keeps time by Stripe's clock")

    def _check_keys(self) -> None:
        """Prove that appending first listings left one row per key; repair and say so if not."""
        tables = None if self._after_cut_run else sorted(self.writer.appended)  # None: every table
        if tables == []:
            return
        for table, extra in self.store.repair_duplicates(tables).items():
            self.note(f"{table}: removed {extra:,} duplicate rows (same id and scope) left by an earlier run")

    def _refresh_phase(self) -> None:
        """Objects that change without events: new/pending balance transactions, related objects."""
        tasks: list[Task] = [Retrieve(*key) for key in sorted(self._retrieve)]
        tasks += self._disputed_charges_tasks()
        due = self._due_pending_balance_transactions()
        relist: dict[tuple[str, str], int] = {}  # (scope, resource) -> re-list from
        for scope, since in due.items():
            key = (scope, "balance_transactions")
            relist[key] = min(relist.get(key, since), since)
        # New balance transactions: the events' objects name them (disputes carry them whole, already
        # written). Per touched scope, fetch the ones we lack one by one, or re-list the scope's window
        # when that is cheaper or when an event may have created one it does not name.
        for scope, since in self._with_sources.items():
            key = (scope, "balance_transactions")
            relist[key] = min(relist.get(key, since), since)
        missing = self._missing_balance_transactions()
        for scope, earliest in self._touched.items():
            key = (scope, "balance_transactions")
            if key in relist:
                relist[key] = min(relist[key], earliest)
                continue
            lacking = missing.get(scope, set())
            if scope not in self._bt_unsure and len(lacking) <= self._relist_cost(scope, earliest):
                tasks += [Retrieve(scope, "balance_transactions", bt) for bt in sorted(lacking)]
            else:
                relist[key] = earliest
        for (scope, resource), since in relist.items():
            kind = RelistWithSources if scope in self._with_sources and resource == "balance_transactions" else Relist
            tasks.append(kind(scope, resource, since - EVENT_OVERLAP))
        if tasks and self.progress:
            self.progress(f"refreshing what changed without events: {len(tasks)} requests")
        self.scheduler.submit(tasks)
        self.scheduler.run_until_idle()

    def _disputed_charges_tasks(self) -> list[Task]:
        """Per scope, retrieve each disputed charge, or re-list the disputes with their charges when fewer
        requests (a wave of disputes on the platform is one page, not one request each)."""
        tasks: list[Task] = []
        for scope, charges in self._disputed.items():
            since = min(charges.values())
            if len(charges) > 1 and self._count_since("disputes", scope, since) // PAGE + 1 < len(charges):
                tasks.append(RelistWithSources(scope, "disputes", since))
            else:
                tasks += [Retrieve(scope, "charges", charge) for charge in sorted(charges)]
        return tasks

    # -- helpers used by tasks

    def note(self, message: str) -> None:
        """A line for the run log (sync_runs.log) and the logger."""
        log.info(message)
        self._log.append(message)

    def fresh_for(self, scope: str, table: str) -> bool:
        """Whether a listing of `table` in `scope` may append instead of replacing rows.

        True for a scope with no rows in the table when this run began, anchored for the first time in
        this run. Then nothing else can have written its keys: its units list disjoint windows and a
        unit resumes after its last committed page; its events are replayed, and objects refreshed,
        only after its listing is committed (ReplayGate, the refresh phase); actions leave a scope
        alone while it is listed (core/actions.py).
        """
        with self._anchor_lock:
            first = (scope, table) not in self._anchored_tables
            self._anchored_tables.add((scope, table))
        return first and scope not in self._present.get(table, set()) and self.store.claim_first_listing(scope)

    def wants_more_work(self) -> bool:
        return self.scheduler.pending() < self.workers

    def discover_accounts(self, account_ids: Iterable[str]) -> None:
        """Anchor each connected account the first time we see it (after its row is committed)."""
        with self._anchor_lock:
            new = [a for a in account_ids if a not in self._anchored]
            self._anchored.update(new)
        if new:
            hints = self._account_created(new)
            self.scheduler.submit(AnchorScope(a, hint_start=hints.get(a, 0)) for a in new)

    def lost_access(self, account: str | None, error: AccountAccessError) -> Write | None:
        """A connected account refused us (it disconnected): record it and stop polling it, once.

        The platform itself refusing is not this: that is a bad key, and the run fails."""
        if not account or account == PLATFORM:
            raise error
        with self._anchor_lock:
            if account in self._lost:
                return None
            self._lost.add(account)
        self.note(f"{account}: the platform no longer has access to it (disconnected); its data is kept as it "
                  "was and it is no longer synced")
        return Write(disconnect=[(account, self.api.stripe_now(), "access refused")])

    def rebackfill(self, scope: str, why: str) -> tuple[Write | None, list[Task]]:
        self.note(f"{scope_label(scope)}: backfilling again because {why}")
        return None, [AnchorScope(scope)]

    def apply_events(self, scope: str, events: list[dict[str, Any]], seen: set[tuple[str, str]]) -> Write:
        """Rows for a page of events (newest first) and the newest snapshot of each of their objects,
        and the refreshes they imply. `seen` holds the objects earlier (newer) pages already gave."""
        write = Write()
        for event in events:
            write.rows.append(("events", scope, event))
            obj = (event.get("data") or {}).get("object") or {}
            kind = str(event.get("type", ""))
            table = _EVENT_OBJECT_TABLES.get(obj.get("object", ""))
            if kind == "account.application.deauthorized" and event.get("account"):
                if event["account"] not in self._gone and _first_sight(seen, "account_disconnections", event["account"]):
                    write.disconnect.append((event["account"], int(event["created"]), event["id"]))
                    self.note(f"{event['account']}: disconnected from the platform ({event['id']}); its data is kept "
                              "as it was and it is no longer synced")
            if kind.startswith("account.external_account.") and scope != PLATFORM:
                with self._related_lock:  # the account's external_accounts changed without an account.updated
                    self._retrieve.add((PLATFORM, "accounts", scope))
            row_scope = PLATFORM if table == "connected_accounts" else scope
            if table and obj.get("id") and _first_sight(seen, table, obj["id"]):
                if kind.endswith(".deleted"):
                    write.deletes.append((table, row_scope, obj["id"]))
                else:
                    write.rows.append((table, row_scope, obj))
            self._note_related(scope, event, obj)
            self._note_balance_transactions(scope, str(event.get("type", "")), obj, write, seen)
        if events:
            with self._related_lock:
                earliest = min(int(e["created"]) for e in events)
                self._touched[scope] = min(self._touched.get(scope, earliest), earliest)
                # Committed with the events: a sync killed before its refresh phase ends replays these
                # events next time, so the refreshes they imply are never lost.
                write.units.append({"unit_id": refresh_unit_id(scope), "kind": "refresh", "scope": scope,
                                    "resource": "events", "cursor_created": self._touched[scope], "done": False})
        return write

    def _note_balance_transactions(self, scope: str, kind: str, obj: dict[str, Any], write: Write,
                                   seen: set[tuple[str, str]]) -> None:
        """Remember the balance transactions an event's object names; write the ones it carries whole."""
        if kind.startswith("account."):
            return  # account changes move no money
        ids: set[str] = set()
        complete = _balance_transaction_refs(obj, ids, write, scope, seen)
        with self._related_lock:
            self._bt_refs[scope] |= ids
            if not complete:
                self._bt_unsure.add(scope)

    def _missing_balance_transactions(self) -> dict[str, set[str]]:
        """Per scope, the referenced balance transaction ids the store does not hold."""
        pairs = [(scope, bt) for scope, ids in self._bt_refs.items() for bt in ids]
        if not pairs:
            return {}
        have = self.store.keys_present("balance_transactions", pairs)
        missing: dict[str, set[str]] = defaultdict(set)
        for pair in pairs:
            if pair not in have:
                missing[pair[0]].add(pair[1])
        return missing

    def _relist_cost(self, scope: str, since: int) -> int:
        """Requests a re-list of the scope's balance transactions since `since` would take (estimate)."""
        return 1 + self._count_since("balance_transactions", scope, since - EVENT_OVERLAP) // PAGE

    def _count_since(self, table: str, scope: str, since: int) -> int:
        return self.store.count_since(table, scope, since)

    def _note_related(self, scope: str, event: dict[str, Any], obj: dict[str, Any]) -> None:
        kind = str(event.get("type", ""))
        created = int(event["created"])
        with self._related_lock:
            if obj.get("object") == "charge" and _incomplete_charge(obj):
                self._retrieve.add((scope, "charges", obj["id"]))
            if kind.startswith("charge.dispute.") and obj.get("charge"):
                # the charge's `disputed` changes without an event of its own
                disputed = self._disputed[scope]
                charge = _id(obj["charge"])
                disputed[charge] = min(disputed.get(charge, int(obj["created"])), int(obj["created"]))
            if kind.startswith("transfer.") and obj.get("destination"):
                # A transfer moves money in its destination account without an event there: the `py_`
                # payment it creates, and the refund of it a reversal makes. Each leaves a balance
                # transaction, so one re-list of those, sources expanded, brings them all.
                destination = _id(obj["destination"])
                self._with_sources[destination] = min(self._with_sources.get(destination, created), created)

    def count_stream(self, task: Task, write: Write | None) -> None:
        if write is None:
            return
        counts = Counter(table for table, _, _ in write.rows)
        for table, _, _, n in write.pages:
            counts[table] += n
        with self._streams_lock:
            for table, n in counts.items():
                self.streams[table].objects += n

    # -- store reads (own cursor each: these run beside the writer)

    def _known_accounts(self) -> list[str]:
        return self.store.connected_account_ids()

    def _account_created(self, ids: list[str]) -> dict[str, int]:
        return self.store.accounts_created(ids)

    def new_accounts_task(self) -> Task:
        return _NewAccounts(PLATFORM, "accounts", max(0, self.store.newest_account_created() - EVENT_OVERLAP))

    def _due_pending_balance_transactions(self) -> dict[str, int]:
        return self.store.pending_balance_transactions_due(self.api.stripe_now())

    # -- progress

    def _start_progress(self, started: float) -> Callable[[], None]:
        if self.progress is None:
            return lambda: None
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(self.progress_every):
                self._print_progress(started)

        thread = threading.Thread(target=loop, daemon=True, name="sync-progress")
        thread.start()

        def halt() -> None:
            stop.set()
            thread.join()

        return halt

    def stream_requests(self) -> Counter[str]:
        """Requests per stream (table), from the client's per-endpoint counters."""
        out: Counter[str] = Counter()
        for endpoint, n in list(self.api.stats.by_endpoint.items()):
            parts = endpoint.split("/")
            if len(parts) >= 3:
                out[table_of(parts[2])] += n
        return out

    def stream_lines(self, elapsed: float) -> list[str]:
        elapsed = max(0.001, elapsed)
        requests = self.stream_requests()
        with self._streams_lock:
            names = sorted(set(self.streams) | set(requests))
            objects = {n: self.streams[n].objects if n in self.streams else 0 for n in names}
        return [f"  {name:<22} {objects[name]:>9,} objects {requests[name]:>7,} requests "
                f"{requests[name] / elapsed:>6.1f} req/s" for name in names]

    def _print_progress(self, started: float) -> None:
        assert self.progress is not None
        for line in self.stream_lines(time.monotonic() - started):
            self.progress(line)


@dataclass
class _NewAccounts(Relist):
    """Accounts created since the newest we hold: new scopes to anchor and backfill."""

    def write_for(self, engine: SyncEngine, page: Page) -> Write:
        write = super().write_for(engine, page)
        ids = [obj["id"] for obj in page.data]
        last = _next_cursor(page) is None

        def after() -> None:
            engine.discover_accounts(ids)
            if last:
                engine.gate.close(PLATFORM, ReplayGate.NEW_ACCOUNTS)

        write.after = after
        return write


_BT_REF_KEYS = ("balance_transaction", "failure_balance_transaction")


def _balance_transaction_refs(value: Any, ids: set[str], write: Write, scope: str, seen: set[tuple[str, str]],
                              depth: int = 0) -> bool:
    """Collect balance transaction ids named in an object (and its embedded lists), writing the ones
    embedded whole (first sight only, as with event objects); False when a list is truncated
    (`has_more`), i.e. it may name more than we can see."""
    complete = True
    if isinstance(value, dict):
        if value.get("object") == "balance_transaction" and value.get("id"):
            if _first_sight(seen, "balance_transactions", value["id"]):
                write.rows.append(("balance_transactions", scope, value))
            return True
        if value.get("object") == "list" and value.get("has_more"):
            complete = False
        for key, item in value.items():
            if key in _BT_REF_KEYS and item:
                if isinstance(item, dict) and item.get("object") == "balance_transaction":
                    complete = _balance_transaction_refs(item, ids, write, scope, seen, depth + 1) and complete
                elif isinstance(item, dict):
                    if item.get("id"):
                        ids.add(str(item["id"]))
                else:
                    ids.add(str(item))
            elif isinstance(item, (dict, list)) and depth < 4:
                complete = _balance_transaction_refs(item, ids, write, scope, seen, depth + 1) and complete
    elif isinstance(value, list):
        for item in value:
            complete = _balance_transaction_refs(item, ids, write, scope, seen, depth + 1) and complete
    return complete


def _paged(params: dict[str, Any], cursor: str | None) -> dict[str, Any]:
    """List parameters continuing after `cursor` (the last id of the previous page), if any."""
    return {**params, "starting_after": cursor} if cursor else params


def _next_cursor(page: Page) -> str | None:
    """Where the next page starts, or None when this was the last."""
    return page.data[-1]["id"] if page.has_more and page.data else None


def _first_sight(seen: set[tuple[str, str]], table: str, object_id: str) -> bool:
    """True the first time (table, id) is met in a replay window (pages come newest first)."""
    key = (table, object_id)
    if key in seen:
        return False
    seen.add(key)
    return True


def _page_row(table: str, scope: str, page: Page) -> tuple[str, str, str, int]:
    """A page as the writer takes it: its text (the parsed objects are not kept in the queue)."""
    body = page.body
    if body is None:  # a Page built by hand (tests): the same JSON from the objects
        body = json.dumps({"object": "list", "data": page.data, "has_more": page.has_more})
    return table, scope, body, len(page.data)


def _incomplete_charge(charge: dict[str, Any]) -> bool:
    """A succeeded charge snapshot whose fee or transfer is promised but not yet linked.

    Stripe links them before charge.succeeded; a source that links them after (our emulator does)
    would otherwise leave the charge without its application_fee/transfer until its next event.
    """
    if charge.get("status") != "succeeded":
        return False
    fee_missing = bool(charge.get("application_fee_amount")) and not charge.get("application_fee")
    transfer_missing = bool((charge.get("transfer_data") or {}).get("destination")) and not charge.get("transfer")
    return fee_missing or transfer_missing


def _id(value: Any) -> str:
    return value["id"] if isinstance(value, dict) else str(value)


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def sync(store: Store, api: StripeApi, *, full: bool = False, progress: Callable[[str], None] | None = None,
         workers: int | None = None) -> SyncResult:
    """One sync with the default worker count (tests and scripts; the runtime builds its own engine)."""
    return SyncEngine(store, api, workers=workers, progress=progress).run(full)
