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
  scopes are still listed. On a first sync the scope's events listing is its replay (EventsListing):
  listed last, its newest pages hold every event since the watermark, so replay costs no request.
* What changes without an event of its own is refreshed explicitly: balance transactions (new ones,
  and pending ones whose `available_on` passed), the charge of a dispute, and the `py_` payment, its
  refunds and balance transactions in the destination account of a transfer.

How it stays fast (a first sync's requests are about the pages the data needs, at the rate limits):

* A unit estimates from its first page how many it holds and splits into created-windows only when,
  listed one page after another, it would end after the rest of the work (BackfillUnit._split): small
  scopes are never split (every window ends in a partial page, a request more).
* Workers take a task when its endpoint's rate budget frees, not before: the longest units first (the
  last to end ends the run), then scopes in the order found, so they finish, and replay, steadily; the
  endpoint with the most listing left goes first when the overall budget is the limit.
* The run's first requests list the platform at once; Stripe's time for its watermark is learnt from
  their answers. The writer commits pages in groups (DuckDB's cost is mostly per commit) but does not
  wait for company while workers wait for what a commit releases (accounts found, a replay).
"""
from __future__ import annotations

import heapq
import itertools
import json
import logging
import math
import queue
import threading
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from core.mirror.ledger_check import LedgerCheck
from core.mirror.schema import TABLE_BY_RESOURCE, table_of, table_of_object
from core.mirror.store import PLATFORM, Store
from core.stripe_api import SERVICES, AccountAccessError, Page, ResourceMissingError, StripeApi

log = logging.getLogger("connect_ops.sync")
RESOURCE_OF_SERVICE = {path: resource for resource, path in SERVICES.items()}  # "radar/early_fraud_warnings" -> ...

PLATFORM_RESOURCES = ("accounts", "charges", "transfers", "application_fees", "refunds", "disputes",
                      "early_fraud_warnings", "balance_transactions", "payouts", "events")
ACCOUNT_RESOURCES = ("charges", "refunds", "disputes", "early_fraud_warnings", "payouts", "balance_transactions",
                     "events")
EVENT_RETENTION = 30 * 86400
RETENTION_MARGIN = 3600  # re-backfill a little before Stripe drops the events we would need
EVENT_OVERLAP = 300  # seconds re-read before the watermark: same-second events and clock skew
EVENT_WINDOW = 86400  # a replay commits its watermark at least once per day of events
PAGE = 100
STOP_WAIT = 60.0  # seconds a failed run waits for its workers' requests under way
CLOCK_SKEW_NOTE = 30  # seconds of difference between our clock and Stripe's worth a line in the run log
PLATFORM_HINT = 400 * 86400  # where the platform's objects are first guessed to begin, before its accounts tell
MIN_SPLIT_SPAN = 2  # seconds; a window narrower than this is paged, not split
PIECE_PAGES = 1  # pages a slice holds at least (each ends in a partial page: only the tail splits this fine)
MAX_PIECES = 4  # slices one split makes at most (a slice splits again if it must)
SPLIT_SLACK = 0.7  # a unit is split when, alone, it would take longer than this share of the work left
WRITE_QUEUE = 160  # writes waiting for the writer at most
CHECKPOINT_WAL = 2 << 20  # bytes of write-ahead log worth moving into the database file while the run idles
LINGER_STEP = 0.02  # seconds a lingering group waits before it looks again whether it should hurry
TAKE_EARLY = 0.005  # seconds before its rate budget frees that a task may be taken
_ORDER = itertools.count()  # queue order: units keep theirs, so a scope's units finish together


def scope_label(scope: str) -> str:
    return scope or "platform"


# Objects whose events carry their newest snapshot (balance transactions have no events of their own).
_EVENT_OBJECT_TABLES = {o: table_of_object(o) for o in ("account", "charge", "transfer", "payout", "application_fee",
                                                        "refund", "dispute", "radar.early_fraud_warning")}
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
    queued: Callable[[], None] | None = None  # once queued, before it commits: work released is ordered after it
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

    def rank(self, engine: SyncEngine) -> tuple[float, int]:
        """Its place among its endpoint's queued tasks (smallest first): by default, first come first served."""
        return (0.0, next(_ORDER))


@dataclass
class BackfillUnit(Task):
    """A created-window of one resource in one scope, paged newest first from `cursor`.

    After each page it estimates the pages it still holds (the density of what it listed, over what is
    left of its window) and splits only when it would otherwise end after the rest of its endpoint's
    work (`SyncEngine.pieces_for`): every slice ends in a partial page, so a scope of a few pages stays
    whole, and a big one is cut into slices of comparable size as soon as its first page shows it is big.
    """

    unit_id: str
    scope: str
    resource: str
    window_start: int = 0
    window_end: int | None = None
    cursor: str | None = None
    done: bool = False
    hint_start: int = 0  # where data probably begins; only steers estimates and splits
    fresh: bool = False  # the scope's first listing of this resource (see SyncEngine.fresh_for)
    gated: bool = True  # its scope's replay waits for it (ReplayGate); slices inherit it
    # What this run listed (not saved: a resumed unit estimates afresh from its next page)
    listed: int = 0
    newest: int | None = None  # created of the newest object listed, or the window's end
    oldest: int | None = None  # created of the oldest object listed
    order: int = field(default_factory=lambda: next(_ORDER))  # a scope's units go in the order it was found

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

    def rank(self, engine: SyncEngine) -> tuple[float, int]:
        """The longest first (the run ends when the last page of the longest does), so a unit goes on
        once started and scopes finish one after another, their replays spread over the run; units not
        started yet (1 page until one came back) by scope in the order found."""
        return (-engine.estimates.setdefault(self.unit_id, self.endpoint), self.order)

    def run(self, engine: SyncEngine) -> tuple[Write | None, list[Task]]:
        return self.handle(engine, self.fetch(engine))

    def fetch(self, engine: SyncEngine) -> Page:
        created: dict[str, int] = {"gte": self.window_start}
        if self.window_end is not None:
            created["lt"] = self.window_end
        started = time.monotonic()
        page = engine.api.list(self.resource, _paged({"limit": PAGE, "created": created}, self.cursor),
                               self.scope or None)
        engine.observe_latency(time.monotonic() - started)
        return page

    def handle(self, engine: SyncEngine, page: Page) -> tuple[Write, list[Task]]:
        """The page's write: its rows with this unit's new cursor, and any slices split off, all in one
        transaction. A slice and the window this unit keeps must commit together, disjoint, or a
        resumed run lists the handed-over window twice (and appends it twice)."""
        self._advance(page)
        engine.estimates.set(self.unit_id, self.endpoint, self.remaining_pages(engine))
        slices = [] if self.done else self._split(engine)
        if slices:
            engine.estimates.set(self.unit_id, self.endpoint, self.remaining_pages(engine))
        for piece in slices:
            if piece.gated:
                engine.gate.open(self.scope, piece.unit_id, accounts=self.resource == "accounts")
        write = Write(pages=[_page_row(table_of(self.resource), self.scope, page)],
                      units=[self.state(), *(piece.state() for piece in slices)], fresh=self.fresh)
        write.after = self._after(engine)
        write.queued = self._found_accounts(engine, page)
        return write, ([] if self.done else [self]) + list(slices)

    def _advance(self, page: Page) -> None:
        if page.data:
            self.cursor = page.data[-1]["id"]
            if self.newest is None:
                self.newest = self.window_end if self.window_end is not None else int(page.data[0]["created"])
            self.oldest = int(page.data[-1]["created"])
            self.listed += len(page.data)
        self.done = not page.has_more

    def _after(self, engine: SyncEngine) -> Callable[[], None] | None:
        """Once its last page is committed, a unit may release its scope's replay."""
        if not self.done:
            return None
        unit_id, scope = self.unit_id, self.scope

        def after() -> None:
            engine.estimates.forget(unit_id)
            engine.gate.close(scope, unit_id)

        return after

    def _found_accounts(self, engine: SyncEngine, page: Page) -> Callable[[], None] | None:
        """Accounts on a page are anchored as soon as the page is queued, not committed: their anchors
        commit after it anyway (one writer, in order), and replays wait for the whole account list."""
        if self.resource != "accounts" or not page.data:
            return None
        created = {obj["id"]: int(obj["created"]) for obj in page.data}
        return lambda: engine.discover_accounts(list(created), created)

    def _ramp(self, engine: SyncEngine) -> tuple[int, int]:
        """(origin, start): where the scope's objects probably begin, and where what is left of this
        window starts. Data older than the scope's start means that guess was wrong: then assume it goes
        back as far again as what this unit listed spans."""
        assert self.oldest is not None and self.newest is not None
        origin = engine.scope_start(self.scope, self.hint_start, self.resource)
        if origin >= self.oldest:
            origin = self.oldest - max(1, self.newest - self.oldest)
        return origin, max(self.window_start, origin)

    def remaining_pages(self, engine: SyncEngine) -> float:
        """Pages still to list (1 until a page has come back): the density of what was listed, thinning
        out towards the scope's start (platforms grow: the newest pages are the densest)."""
        if self.done:
            return 0.0
        if not self.listed or self.oldest is None or self.newest is None:
            return 1.0
        density = self.listed / max(1, self.newest - self.oldest)
        origin, start = self._ramp(engine)
        span = _ramp_span(origin, start, self.oldest) if self._grows else self.oldest - start
        return max(1.0, density * span / PAGE)

    @property
    def _grows(self) -> bool:
        """The platform's activity grows as accounts join (its newest pages are its densest); nothing is
        assumed of one account's."""
        return self.scope == PLATFORM

    def _split(self, engine: SyncEngine) -> list[BackfillUnit]:
        """Older slices of what is left of the window, as new units, when this unit is too long alone;
        slices of about equal estimated size (narrower where it is denser)."""
        remaining = self.remaining_pages(engine)
        pieces = engine.pieces_for(remaining)
        if pieces < 2 or self.oldest is None:
            return []
        origin, start = self._ramp(engine)
        bounds = sorted(set(_slice_bounds(origin, start, self.oldest, pieces, grows=self._grows)))
        bounds = [b for b in bounds if self.window_start < b <= self.oldest - MIN_SPLIT_SPAN]
        if not bounds:
            return []
        edges = [self.window_start, *bounds]
        slices = [BackfillUnit(new_unit_id(self.scope, self.resource), self.scope, self.resource, start, end,
                               hint_start=self.hint_start, fresh=self.fresh, gated=self.gated)
                  for start, end in itertools.pairwise(edges)]
        self.window_start = bounds[-1]
        share = remaining / (len(slices) + 1)
        for piece in slices:
            engine.estimates.set(piece.unit_id, piece.endpoint, share)
        return slices


@dataclass
class EventsListing(BackfillUnit):
    """A scope's events listing that is also its replay, so a first sync spends no request on replay.

    It starts once everything else listed in the scope is committed (ReplayGate), so its newest pages
    hold every event since the scope's watermark: those are applied as a replay would apply them
    (newest snapshot first) while the page itself is stored as listed. The replay ends with the first
    page that reaches below the watermark (less the overlap); its new watermark commits with that page,
    and what is older is listed on as a plain unit (split if big). Killed before that, the next run
    lists the rest as a plain unit and replays from the watermark, as for any scope (not saved as such).
    """

    watermark: int = 0
    replaying: bool = True
    next_watermark: int = 0
    applied: set[tuple[str, str]] = field(default_factory=set)  # (table, id) given their newest snapshot

    def run(self, engine: SyncEngine) -> tuple[Write | None, list[Task]]:
        if self.replaying and not self.next_watermark:
            now = engine.api.stripe_now()
            if self.watermark < now - EVENT_RETENTION + RETENTION_MARGIN:
                return engine.rebackfill(self.scope, "its events cursor is older than Stripe's 30-day retention")
            self.next_watermark = now - 1
        page = self.fetch(engine)
        if not self.replaying:
            return self.handle(engine, page)
        since = self.watermark - EVENT_OVERLAP
        replay = engine.apply_events(self.scope, [e for e in page.data if int(e["created"]) >= since], self.applied,
                                     with_rows=False)
        write, follow = self._handle_replaying(engine, page, since)
        write.rows += replay.rows
        write.deletes += replay.deletes
        write.disconnect += replay.disconnect
        write.units = replay.units + write.units
        return write, follow

    def _handle_replaying(self, engine: SyncEngine, page: Page, since: int) -> tuple[Write, list[Task]]:
        """No split while replaying (a slice would hold events to apply); the replay ends below `since`."""
        self._advance(page)
        engine.estimates.set(self.unit_id, self.endpoint, self.remaining_pages(engine))
        write = Write(pages=[_page_row("events", self.scope, page)], units=[self.state()], fresh=self.fresh)
        write.after = self._after(engine)
        if self.done or (self.oldest is not None and self.oldest < since):
            self.replaying = False
            self.applied = set()
            write.units.append({"unit_id": events_unit_id(self.scope), "kind": "events", "scope": self.scope,
                                "resource": "events", "cursor_created": self.next_watermark, "done": True})
            scope = self.scope
            write.after = _chain([call for call in (write.after, lambda: engine.refresh_early(scope)) if call])
        return write, [] if self.done else [self]


def _ramp_span(origin: int, start: int, end: int) -> float:
    """The seconds [start, end) is worth at the density found at `end`, when density grows from nothing
    at `origin` to that at `end` (a platform's accounts accumulate: so does their activity)."""
    if end <= origin:
        return float(max(0, end - start))
    return ((end - origin) ** 2 - (start - origin) ** 2) / (2 * (end - origin))


def _slice_bounds(origin: int, start: int, end: int, pieces: int, *, grows: bool) -> list[int]:
    """Times that cut [start, end) into `pieces` parts of equal worth: under that growth, or equal spans."""
    if not grows:
        return [start + (end - start) * i // pieces for i in range(1, pieces)]
    low, high = (start - origin) ** 2, (end - origin) ** 2
    return [origin + int(math.sqrt(low + (high - low) * i / pieces)) for i in range(1, pieces)]


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
        if self.scope == PLATFORM and not engine.api.clock.known:
            return self._anchor_while_listing(engine)
        watermark = engine.api.stripe_now() - 1
        units = self._units(engine)
        write, follow = self._plan(engine, watermark, units)
        return write, follow + units

    def _units(self, engine: SyncEngine) -> list[BackfillUnit]:
        resources = PLATFORM_RESOURCES if self.scope == PLATFORM else ACCOUNT_RESOURCES
        return [BackfillUnit(new_unit_id(self.scope, r), self.scope, r, hint_start=self.hint_start,
                             fresh=engine.fresh_for(self.scope, table_of(r)))
                for r in resources if r != "events"]

    def _plan(self, engine: SyncEngine, watermark: int, units: list[BackfillUnit]) -> tuple[Write, list[Task]]:
        """The write that fixes the watermark and saves the units, and the events units to run."""
        *older, replay = self._events_units(engine, watermark)
        events_state = {"unit_id": events_unit_id(self.scope), "kind": "events", "scope": self.scope,
                        "resource": "events", "cursor_created": watermark, "done": False}
        engine.note(f"{scope_label(self.scope)}: events watermark {watermark}, backfill planned")
        engine.gate.plan(self.scope, watermark, [(u.unit_id, u.resource == "accounts") for u in units], replay)
        write = Write(units=[events_state, *(u.state() for u in (*units, *older, replay))],
                      delete_scopes=[self.scope])
        return write, list(older)

    def _anchor_while_listing(self, engine: SyncEngine) -> tuple[Write | None, list[Task]]:
        """The run's first requests, before Stripe's time is known: rather than ask for it and wait, list
        the first page of every platform resource at once, and fix as watermark a time Stripe's clock had
        reached before any of them was sent (their Date headers, less the seconds since sending). The
        watermark, the units and those pages commit in one transaction."""
        units = self._units(engine)
        eager = [u for u in units if u.fresh]  # one write holds their pages: all appended
        sent = time.monotonic()
        with ThreadPoolExecutor(max(1, len(eager)), thread_name_prefix="sync-anchor") as pool:
            pages = list(pool.map(lambda unit: unit.fetch(engine), eager))
        watermark = engine.api.stripe_now() - math.ceil(time.monotonic() - sent) - 1
        self.hint_start = self.hint_start or watermark - PLATFORM_HINT
        for unit in units:
            unit.hint_start = unit.hint_start or self.hint_start
        write, follow = self._plan(engine, watermark, units)
        write.fresh, afters, queued = True, [], []
        for unit, page in zip(eager, pages, strict=True):
            listed, more = unit.handle(engine, page)
            write.pages += listed.pages
            write.units += listed.units
            afters += [listed.after] if listed.after else []
            queued += [listed.queued] if listed.queued else []
            follow += more
        write.after, write.queued = _chain(afters), _chain(queued)
        return write, follow + [u for u in units if not u.fresh]

    def _events_units(self, engine: SyncEngine, watermark: int) -> list[BackfillUnit]:
        """The scope's events: one listing that is also its replay (EventsListing, started by the gate).
        The platform's events are many, so what is older than the replay's window is a plain unit
        listed from the start beside everything else (split if big); the windows are disjoint."""
        fresh = engine.fresh_for(self.scope, "events")

        def unit(kind: type[BackfillUnit], start: int, end: int | None, **extra: Any) -> BackfillUnit:
            return kind(new_unit_id(self.scope, "events"), self.scope, "events", start, end,
                        hint_start=self.hint_start, fresh=fresh, gated=False, **extra)

        if self.scope != PLATFORM:
            return [unit(EventsListing, 0, None, watermark=watermark)]
        since = watermark - EVENT_OVERLAP
        return [unit(BackfillUnit, 0, since), unit(EventsListing, since, None, watermark=watermark)]


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
    order: int = field(default_factory=lambda: next(_ORDER))

    def rank(self, engine: SyncEngine) -> tuple[float, int]:
        """The platform's first (every scope's refreshes wait for its replay: `refresh_early`), then by
        scope in the order queued, a scope's next page keeping its place (a replay of several pages is a
        chain: sent to the back of the queue each time, it would end the run)."""
        return (-1.0 if self.scope == PLATFORM else 0.0, self.order)

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
        if self.window_end is not None:
            return write, [ReplayEvents(self.scope, self.next_watermark)]
        scope = self.scope
        write.after = lambda: engine.refresh_early(scope)
        return write, []


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


class Estimates:
    """Pages each listing unit still holds, and their sum per endpoint: what is left of its work."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._units: dict[str, tuple[str, float]] = {}
        self._totals: dict[str, float] = defaultdict(float)

    def set(self, unit_id: str, endpoint: str, pages: float) -> None:
        with self._lock:
            old = self._units.get(unit_id)
            if old is not None:
                self._totals[old[0]] -= old[1]
            self._units[unit_id] = (endpoint, pages)
            self._totals[endpoint] += pages

    def setdefault(self, unit_id: str, endpoint: str, pages: float = 1.0) -> float:
        with self._lock:
            known = self._units.get(unit_id)
        if known is not None:
            return known[1]
        self.set(unit_id, endpoint, pages)
        return pages

    def forget(self, unit_id: str) -> None:
        with self._lock:
            old = self._units.pop(unit_id, None)
            if old is not None:
                self._totals[old[0]] -= old[1]

    def total(self, endpoint: str) -> float:
        return self._totals.get(endpoint, 0.0)

    def seconds_left(self, api: StripeApi) -> float:
        """The least time the known listing work takes at the rate limits: its busiest endpoint's share,
        or all of it at the overall limit."""
        with self._lock:
            totals = [t for t in self._totals.values() if t > 0]
        busiest = max(totals, default=0.0) / api.max_rps_per_endpoint
        return max(busiest, sum(totals) / api.global_bucket.ceiling, 0.1)


class Scheduler:
    """Worker threads taking tasks by endpoint: the one whose rate budget frees soonest, and among those
    the overall budget holds back alike, the one with the most listing left (the one that ends the run);
    within an endpoint, by `Task.rank`."""

    def __init__(self, engine: SyncEngine, workers: int) -> None:
        self.engine = engine
        self.workers = workers
        self._pending: dict[str, list[tuple[tuple[float, int], int, Task]]] = defaultdict(list)  # endpoint -> heap
        self._seq = itertools.count()
        self._count = 0
        self._running = 0
        self._deferred = 0  # committed-later writes whose `after` may still submit tasks
        self._cond = threading.Condition()
        self._timing = False  # a worker waits for the next rate budget to free; the others wait for a nudge
        self._error: BaseException | None = None
        self._threads: list[threading.Thread] = []

    def submit(self, tasks: Iterable[Task]) -> None:
        with self._cond:
            added = 0
            for task in tasks:
                heapq.heappush(self._pending[task.endpoint], (task.rank(self.engine), next(self._seq), task))
                added += 1
            self._count += added
            self._cond.notify(added)

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

    def join(self, timeout: float) -> None:
        """Wait (up to `timeout` s in all) for the workers after a failure: none is left mid-task at exit."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def run_until_idle(self) -> None:
        threads = [threading.Thread(target=self._work, name=f"sync-{i}", daemon=True) for i in range(self.workers)]
        self._threads = threads
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
                    endpoint, wait = self._next_endpoint()
                    if wait <= TAKE_EARLY:
                        self._count -= 1
                        self._running += 1
                        if self._count:
                            self._cond.notify()  # the next task may be ready too, or someone must time it
                        return heapq.heappop(self._pending[endpoint])[2]
                    self._wait_for_budget(wait)
                    continue
                if self._running == 0 and self._deferred == 0:
                    self._cond.notify_all()
                    return None
                self._cond.wait(0.5)

    def _wait_for_budget(self, wait: float) -> None:
        """Choose when the budget frees (what is best then may not be now). One worker times it: dozens
        waking together to find one token cost more CPU than the requests themselves."""
        if self._timing:
            self._cond.wait(0.5)
            return
        self._timing = True
        try:
            self._cond.wait(wait)
        finally:
            self._timing = False

    def _next_endpoint(self) -> tuple[str, float]:
        """(endpoint, seconds until its rate budget frees); tasks are taken when it does, not queued on
        the budget early, so a long unit back from its last page goes next whatever queued before it."""
        api, estimates = self.engine.api, self.engine.estimates
        held = api.global_bucket.ready_in()
        ready = {e: 0.0 if e == AnchorScope.endpoint else max(api.bucket(e).ready_in(), held)  # anchors: no request
                 for e, q in self._pending.items() if q}
        endpoint = min(ready, key=lambda e: (ready[e], -estimates.total(e)))
        return endpoint, ready[endpoint]

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
                    if write.queued is not None:
                        write.queued()
                self.engine.count_stream(task, write)
                self.submit(follow)
            except BaseException as exc:  # noqa: BLE001 - any failure stops the run, reported once
                self.fail(exc)
            finally:
                with self._cond:
                    self._running -= 1
                    if not self._running:
                        self._cond.notify_all()  # perhaps the end: the others see it


class Writer:
    """The single writing thread: commits queued writes in groups, each group one transaction."""

    def __init__(self, store: Store, on_error: Callable[[BaseException], None], max_group: int = 32,
                 linger: float = 0.3, idle: Callable[[bool], bool] = lambda drained: False) -> None:
        self.store = store
        self.on_error = on_error
        self.max_group = max_group
        self.linger = linger  # how long a group waits for company: DuckDB's cost is mostly per commit (~17 ms)
        # Whether workers wait for work (then a commit that releases work is on the critical path); or, with
        # `drained`, whether nothing at all is queued to run.
        self.idle = idle
        self._flushing = False
        # Bounds memory (a write is about a page, ~100 KB) yet absorbs a slow commit (DuckDB checkpoints the WAL
        # inside one every 16 MB): a full queue stops every worker, and the rate budget goes unused.
        self._queue: queue.Queue[Write | None] = queue.Queue(maxsize=WRITE_QUEUE)
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
        """Wait until everything queued is committed (or raise what the writer hit), without lingering."""
        self._flushing = True
        try:
            self._queue.join()
        finally:
            self._flushing = False
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
            urgent = first.after is not None
            while len(group) < self.max_group:
                hurry = self._flushing or (urgent and self.idle(False))
                left = 0.0 if hurry else deadline - time.monotonic()
                try:  # in short steps: a flush (the run's end waits on it) or idle workers must not wait out the linger
                    item = self._queue.get(timeout=min(left, LINGER_STEP)) if left > 0 else self._queue.get_nowait()
                except queue.Empty:
                    if left > LINGER_STEP:
                        continue
                    break
                if item is None:
                    self._queue.put(None)  # keep the stop signal for the outer loop
                    self._queue.task_done()
                    break
                group.append(item)
                urgent = urgent or item.after is not None
            try:
                if self._failed is None:
                    self._commit(group)
                    self._checkpoint_if_idle()
            except BaseException as exc:  # noqa: BLE001
                self._failed = exc
                self.on_error(exc)
            finally:
                for _ in group:
                    self._queue.task_done()

    def _checkpoint_if_idle(self) -> None:
        """With nothing to commit and nothing queued to run, the run waits for its last answers: move the
        WAL into the database file then, not at close after them (DuckDB's last checkpoint, up to ~1 s)."""
        if self._queue.empty() and self.idle(True) and self.store.wal_bytes() > CHECKPOINT_WAL:
            self.store.checkpoint()

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
        self._replay: dict[str, Task] = {}  # scope -> its EventsListing (anchored this run), else ReplayEvents
        self._replaying: set[str] = set()
        self._running = False

    def plan(self, scope: str, watermark: int, units: list[tuple[str, bool]], replay: Task | None = None) -> None:
        """A scope (re)anchored: its units are open and its replay (`replay`, or a ReplayEvents from the
        watermark) waits for them."""
        with self._lock:
            self._start_at[scope] = watermark
            self._replaying.discard(scope)
            if replay is not None:
                self._replay[scope] = replay
            else:
                self._replay.pop(scope, None)
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
        """A unit's last page is committed: its scope may replay; the account list's, every scope may."""
        relist = everyone = False
        with self._lock:
            self._open[scope].discard(unit_id)
            if unit_id in self._accounts_open:
                self._accounts_open.discard(unit_id)
                relist = not self._accounts_open and unit_id != self.NEW_ACCOUNTS
                everyone = not self._accounts_open and not relist
                if relist:
                    self._accounts_open.add(self.NEW_ACCOUNTS)
                    self._open[PLATFORM].add(self.NEW_ACCOUNTS)
        if relist:
            self.engine.scheduler.submit([self.engine.new_accounts_task()])
        self._release(None if everyone else scope)

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

    def _release(self, only: str | None = None) -> None:
        """Start the replay of every scope (or of `only`: a close looks at its own scope, not at thousands)
        whose listing is committed."""
        with self._lock:
            if not self._running or self._accounts_open:
                return
            scopes = self._start_at if only is None else [only] if only in self._start_at else []
            ready = [scope for scope in scopes if scope not in self._replaying and not self._open[scope]]
            self._replaying.update(ready)
            tasks = [self._replay.pop(scope, None) or ReplayEvents(scope, self._start_at[scope]) for scope in ready]
        for scope in ready:
            self.engine.store.release_listing(scope)
        self.engine.scheduler.submit(tasks)


# --------------------------------------------------------------------------- the engine


class SyncCancelled(RuntimeError):
    """The run was stopped from outside (the app shutting down); the next run resumes where it stopped."""


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
        self._retrieve: dict[tuple[str, str, str], str] = {}  # (scope, resource, id) -> the scope whose events asked
        self._refreshed: set[str] = set()  # scopes whose refreshes are under way
        self._replayed: set[str] = set()  # scopes whose replay is committed (refresh_early)
        self._relisted_from: dict[str, int] = {}  # scope -> the oldest created its ledger was re-listed from
        self.mode = "full"
        self._refresh_said = False  # the progress line that refreshes began (once a run)
        # scope -> earliest Stripe time at which another scope's event moved money in it without an event
        # of its own there (an application fee refunded: a credit in the account the fee came from)
        self._moved: dict[str, int] = {}
        self._watermarks: dict[str, int] = {}  # scope -> its events watermark when this run began
        self.ledger = LedgerCheck(self)
        self._with_sources: dict[str, int] = {}  # scope -> re-list its balance transactions with sources from
        self._disputed: dict[str, dict[str, int]] = defaultdict(dict)  # scope -> charge -> its dispute's created
        self._related_lock = threading.Lock()
        self.scheduler = Scheduler(self, self.workers)
        self.writer = Writer(store, self.scheduler.fail,
                             idle=lambda drained: self.scheduler.pending() < (1 if drained else self.workers // 2))
        self.gate = ReplayGate(self)
        self.estimates = Estimates()
        self._latencies: deque[float] = deque([0.3], maxlen=128)  # seconds per list request, recent
        self._oldest_account: int | None = None  # created of the oldest connected account found
        self._hints: dict[str, int] = {}  # scope -> where its objects probably begin, for resumed units

    # -- public

    def cancel(self, why: str = "stopped: the process is exiting") -> None:
        """Stop soon, from any thread: no task is started after this (those under way finish), and run()
        raises SyncCancelled, recorded as a failed run; the next run resumes, as after a kill."""
        self.scheduler.fail(SyncCancelled(why))

    def run(self, full: bool = False) -> SyncResult:
        mode = self.mode = "full" if full or not self.store.units("events") else "incremental"
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
            if mode == "incremental":
                self.ledger.run(self.ledger_scopes())
            self._check_keys()
            with self.store.transaction() as conn:
                self.store.delete_units(conn, "refresh")
        except BaseException as exc:
            self.scheduler.fail(exc)  # e.g. Ctrl-C in this thread: the workers stop too, before the writer
            self.scheduler.join(STOP_WAIT)
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
            self._watermarks[unit["scope"]] = cursor
            self.gate.resume(unit["scope"], min(cursor, unfinished.get(unit["scope"], cursor)))
            self._anchored.add(unit["scope"])
        known = self._known_accounts()
        if PLATFORM in self._anchored or known:
            self.api.stripe_now()  # a request if need be: anchors and replays start from Stripe's time
        if PLATFORM not in self._anchored:
            self._anchored.add(PLATFORM)
            tasks.append(AnchorScope(PLATFORM))  # on a first sync, its first pages teach Stripe's time
        self.scheduler.submit(tasks)
        self.discover_accounts(known)
        self.gate.start()
        self.scheduler.run_until_idle()
        self.writer.flush()
        self.note_clock()  # now that many answers told Stripe's time

    def note_clock(self) -> None:
        """Say in the run log when this machine's clock is off Stripe's (learnt from the responses)."""
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
        """Objects that change without events: new/pending balance transactions, related objects (most are
        under way already: each scope's since its replay and the platform's were committed, `refresh_early`);
        here what is left, and pending balance transactions that became due, in one query for all scopes."""
        tasks = self._refresh_tasks(lambda scope: scope not in self._refreshed)
        if tasks and self.progress:
            self.progress(f"refreshing what changed without events: {len(tasks)} requests")
        self.scheduler.submit(tasks)
        self.scheduler.run_until_idle()

    def refresh_early(self, scope: str) -> None:
        """A scope's replay is committed: its refreshes start now, beside the other scopes' listing and
        replay, rather than after all of them, once the platform's replay is committed too (the only
        scope whose events ask something of others: a transfer's destination, a refunded fee's account;
        an account's events ask of the platform only its own account row, retrieved after both)."""
        with self._related_lock:
            self._replayed.add(scope)
            ready = set(self._replayed) if scope == PLATFORM else {scope} if PLATFORM in self._replayed else set()
        tasks = self._refresh_tasks(lambda other: other == PLATFORM) if PLATFORM in ready else []
        accounts = ready - {PLATFORM}
        if accounts:  # their pending balance transactions come due in the refresh phase's one query for all
            tasks += self._refresh_tasks(lambda other: other in accounts, pending=False)
        if tasks and self.progress and not self._refresh_said:
            self._refresh_said = True
            self.progress(f"refreshing what changed without events: {len(tasks)} requests, more as scopes replay")
        self.scheduler.submit(tasks)

    def _refresh_tasks(self, include: Callable[[str], bool], pending: bool = True) -> list[Task]:
        """The refreshes the events of the scopes `include` accepts asked for (each scope's once a run, but
        again if something asks of it later), and with `pending` the re-lists of due pending balance
        transactions (of any scope, if older than what its refresh re-listed)."""
        with self._related_lock:
            taken = {key: origin for key, origin in self._retrieve.items() if include(origin)}
            for key in taken:
                del self._retrieve[key]
            scopes = {s for s in (*self._touched, *self._disputed, *self._with_sources, *self._moved)
                      if include(s) and s not in self._gone and s not in self._lost}  # a disconnected account refuses us
            self._refreshed |= scopes
        tasks: list[Task] = [Retrieve(*key) for key in sorted(taken)]
        tasks += self._disputed_charges_tasks(scopes)
        relist: dict[tuple[str, str], int] = {}  # (scope, resource) -> re-list from
        for scope, since in (self._due_pending_balance_transactions().items() if pending else ()):
            if include(scope) or since < self._relisted_from.get(scope, since):
                self._refreshed.add(scope)
                relist[scope, "balance_transactions"] = since
        # New balance transactions: every touched scope's ledger is re-listed from its watermark (or from
        # its earliest event, if older), whatever created them. An event can move money it does not name:
        # a refund with refund_application_fee=true credits the account the fee came from, and no object of
        # that scope names that credit (the fee refund names the platform's debit); so do collections,
        # reserves and adjustments. Retrieving only what the objects name is never provably complete.
        for scope, since in self._ledger_since(scopes).items():
            key = (scope, "balance_transactions")
            relist[key] = min(relist.get(key, since), since)
        for (scope, resource), since in relist.items():
            kind = RelistWithSources if scope in self._with_sources and resource == "balance_transactions" else Relist
            task: Task = kind(scope, resource, since - EVENT_OVERLAP)
            with self._related_lock:
                self._relisted_from[scope] = min(since, self._relisted_from.get(scope, since))
            tasks.append(self.ledger.read_first(scope, task) if self._checks_ledger(scope) else task)
        # An account that left the platform before this run is never asked again (its data stays as it was),
        # though the platform's events (a transfer to it, re-read in the replay's overlap) may name it.
        return [task for task in tasks if getattr(task, "scope", None) not in self._gone]

    def _checks_ledger(self, scope: str) -> bool:
        """Whether the ledger check will ask this scope's balance (SyncEngine.ledger_scopes)."""
        return self.mode == "incremental" and scope not in self._gone and scope not in self._lost

    def _ledger_since(self, scopes: set[str]) -> dict[str, int]:
        """Per scope of `scopes` whose ledger may have moved, the Stripe time its re-list starts from: the
        earliest event applied (or money moved there from elsewhere: a transfer, a fee refund), or the
        scope's watermark when this run began if that is earlier (a change without any event since then).
        Stripe's `created` values and watermarks only, never this machine's clock; Relist subtracts
        EVENT_OVERLAP, and rows replace by key, so what is listed twice is stored once."""
        out: dict[str, int] = {}
        for source in (self._touched, self._moved, self._with_sources):
            for scope, earliest in source.items():
                if scope in scopes:
                    since = min(earliest, self._watermarks.get(scope, earliest))
                    out[scope] = min(out.get(scope, since), since)
        return out

    def ledger_window(self, scope: str) -> int:
        """Where this run's re-list of a scope's ledger started (Stripe time), for the check's catch-up."""
        return self._ledger_since({scope}).get(scope) or self._watermarks.get(scope) or self.api.stripe_now() - 3600

    def ledger_scopes(self) -> list[str]:
        """Scopes whose ledger this run re-listed because something moved there, for the ledger check
        (accounts that left the platform, or refused us, are not asked)."""
        moved = set(self._touched) | set(self._moved) | set(self._with_sources) | set(self._disputed)
        return sorted(s for s in moved if s not in self._gone and s not in self._lost)

    def _disputed_charges_tasks(self, scopes: set[str]) -> list[Task]:
        """Per scope, retrieve each disputed charge, or re-list the disputes with their charges when fewer
        requests (a wave of disputes on the platform is one page, not one request each)."""
        tasks: list[Task] = []
        with self._related_lock:  # the event writers add to it meanwhile: read a copy
            disputed = {scope: dict(charges) for scope, charges in self._disputed.items() if scope in scopes}
        for scope, charges in disputed.items():
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

    def observe_latency(self, seconds: float) -> None:
        self._latencies.append(seconds)

    def latency(self) -> float:
        """A list request's usual round trip: the lower quartile of recent ones (the others waited for
        rate budget as well)."""
        recent = sorted(self._latencies)
        return recent[len(recent) // 4]

    def pieces_for(self, remaining: float) -> int:
        """Into how many slices a unit with `remaining` pages should be cut: enough that each, listed one
        page after another, ends a little before the known work does at the rate limits; none under
        PIECE_PAGES (each slice ends in a partial page: a request more), at most MAX_PIECES at once
        (a slice splits again if its own first page says it must)."""
        if remaining < 2 * PIECE_PAGES:
            return 1
        wanted = math.ceil(remaining * self.latency() / (SPLIT_SLACK * self.estimates.seconds_left(self.api)))
        return max(1, min(MAX_PIECES, wanted, int(remaining // PIECE_PAGES)))

    def scope_start(self, scope: str, hint: int, resource: str) -> int:
        """Where a scope's objects probably begin (it only steers estimates): an account's creation; for
        the platform, that of its oldest connected account once one is known; events keep 30 days."""
        start = hint or self._resumed_hint(scope)
        if scope == PLATFORM and self._oldest_account is not None:
            start = self._oldest_account
        if resource == "events":
            start = max(start, self.api.stripe_now() - EVENT_RETENTION)
        return start

    def _resumed_hint(self, scope: str) -> int:
        """The hint of a unit a cut run left (not saved): the account's creation, else the platform's guess."""
        hint = self._hints.get(scope)
        if hint is None:
            created = self._account_created([scope]).get(scope) if scope != PLATFORM else None
            hint = self._hints[scope] = created or self.api.stripe_now() - PLATFORM_HINT
        return hint

    def discover_accounts(self, account_ids: Iterable[str], created: dict[str, int] | None = None) -> None:
        """Anchor each connected account the first time we see it (`created`: when each was, else the
        store says, as it holds their rows)."""
        with self._anchor_lock:
            new = [a for a in account_ids if a not in self._anchored]
            self._anchored.update(new)
        if new:
            hints = {a: created[a] for a in new if a in created} if created else self._account_created(new)
            if hints:
                oldest = min(hints.values())
                self._oldest_account = min(self._oldest_account or oldest, oldest)
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

    def apply_events(self, scope: str, events: list[dict[str, Any]], seen: set[tuple[str, str]], *,
                     with_rows: bool = True) -> Write:
        """Rows for a page of events (newest first; without the events' own rows when the page is stored
        as listed) and the newest snapshot of each of their objects, and the refreshes they imply. `seen`
        holds the objects earlier (newer) pages already gave."""
        write = Write()
        for event in events:
            if with_rows:
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
                    self._retrieve[PLATFORM, "accounts", scope] = scope
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
        """Write the balance transactions an event's object carries whole (a dispute's); the ones it names
        by id come with the scope's re-list (`_ledger_since`)."""
        if not kind.startswith("account."):  # account changes move no money
            _balance_transaction_refs(obj, set(), write, scope, seen)

    def _count_since(self, table: str, scope: str, since: int) -> int:
        return self.store.count_since(table, scope, since)

    def _note_related(self, scope: str, event: dict[str, Any], obj: dict[str, Any]) -> None:
        kind = str(event.get("type", ""))
        created = int(event["created"])
        with self._related_lock:
            if obj.get("object") == "charge" and _incomplete_charge(obj):
                self._retrieve[scope, "charges", obj["id"]] = scope
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
                self._refreshed.discard(destination)  # refreshed early (not expected): again in the refresh phase
            if kind.startswith("application_fee.") and obj.get("account") and scope == PLATFORM:
                # A fee refund credits the account the fee came from, with no event in that account.
                account = _id(obj["account"])
                self._moved[account] = min(self._moved.get(account, created), created)
                self._refreshed.discard(account)

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
            if len(parts) >= 3:  # a namespaced resource (radar/early_fraud_warnings) is two segments
                segment = "/".join(parts[2:4]) if parts[2] == "radar" else parts[2]
                resource = RESOURCE_OF_SERVICE.get(segment, segment)
                out[table_of(resource) if resource in TABLE_BY_RESOURCE else segment] += n
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


def _chain(calls: list[Callable[[], None]]) -> Callable[[], None] | None:
    """One `Write.after` that runs several, in order."""
    if not calls:
        return None

    def run_all() -> None:
        for call in calls:
            call()

    return run_all


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
