"""In-memory object store of the emulator: records by id, ordered per (scope, resource) for lists.

Records are small dicts of the fields that vary; `objects.render` turns them into Stripe's full
shape on the way out, which keeps a million-charge demo within memory.
"""
from __future__ import annotations

import binascii
import bisect
import random
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

Record = dict[str, Any]
PLATFORM: str | None = None

# Resource name (URL path) -> id prefixes it holds. Charges include `py_` payments on accounts.
RESOURCES = (
    "accounts", "charges", "transfers", "payouts", "application_fees",
    "refunds", "disputes", "balance_transactions", "events", "early_fraud_warnings",
)
PREFIX_RESOURCE = {
    "acct": "accounts", "ch": "charges", "py": "charges", "tr": "transfers", "po": "payouts",
    "fee": "application_fees", "re": "refunds", "pyr": "refunds", "dp": "disputes", "du": "disputes",
    "txn": "balance_transactions", "evt": "events", "trr": "transfer_reversals", "fr": "fee_refunds",
    "ba": "bank_accounts",
}


class IdMaker:
    """Stripe-looking ids from a seeded generator, so a seed always yields the same ids.

    Each id body is the base64 (altchars "Xq") of `getrandbits(144)` as 18 little-endian bytes.
    Bodies are made in batches with identical results: `getrandbits(144)` consumes five 32-bit
    words and keeps the top half of the fifth, so one `getrandbits(160 * n)` holds n of them, and
    base64 of whole 18-byte blocks is the concatenation of their 24-character encodings.
    """

    _ALT = bytes.maketrans(b"+/", b"Xq")
    _BATCH = 4096

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed * 7919 + 1)
        self._bodies: Iterator[str] = iter(())
        self._prefixes: dict[str, str] = {}

    def _refill(self) -> Iterator[str]:
        n = self._BATCH
        words = self._rng.getrandbits(160 * n).to_bytes(20 * n, "little")
        raw = bytearray(18 * n)
        for j in range(16):                 # the four whole words
            raw[j::18] = words[j::20]
        raw[16::18] = words[18::20]         # the top 16 bits of the fifth word
        raw[17::18] = words[19::20]
        text = binascii.b2a_base64(bytes(raw), newline=False).translate(self._ALT).decode("ascii")
        self._bodies = iter([text[i:i + 24] for i in range(0, 24 * n, 24)])
        return self._bodies

    def __call__(self, prefix: str) -> str:
        body = next(self._bodies, None)
        if body is None:
            body = next(self._refill())
        if prefix == "acct":
            return f"acct_1{body[:15]}"
        head = self._prefixes.get(prefix)
        if head is None:
            head = self._prefixes[prefix] = prefix + "_"
        return head + body


class Collection:
    """Ids of one resource in one scope, ascending by (created, insertion) for newest-first pages.

    `pos` (id -> index) is built only when first asked for: State finds cursor positions by
    bisecting `created`, so a million-object seed does not carry a second index it rarely needs.
    """

    __slots__ = ("created", "ids", "_pos")

    def __init__(self) -> None:
        self.created: list[int] = []
        self.ids: list[str] = []
        self._pos: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def pos(self) -> dict[str, int]:
        if self._pos is None:
            self._pos = {object_id: i for i, object_id in enumerate(self.ids)}
        return self._pos

    @pos.setter
    def pos(self, value: dict[str, int] | None) -> None:
        self._pos = value

    def index_of(self, object_id: str, created: int) -> int:
        """Index of an id whose `created` is known; KeyError when it is not in this collection."""
        if self._pos is not None:
            return self._pos[object_id]
        times, id_list = self.created, self.ids
        i = bisect.bisect_left(times, created)
        n = len(times)
        while i < n and times[i] == created:
            if id_list[i] == object_id:
                return i
            i += 1
        raise KeyError(object_id)

    def add(self, object_id: str, created: int) -> None:
        pos = self._pos
        if not self.created or created >= self.created[-1]:
            if pos is not None:
                pos[object_id] = len(self.ids)
            self.created.append(created)
            self.ids.append(object_id)
            return
        index = bisect.bisect_right(self.created, created)
        self.created.insert(index, created)
        self.ids.insert(index, object_id)
        if pos is not None:
            for i in range(index, len(self.ids)):
                pos[self.ids[i]] = i

    def window(self, gt: int | None, gte: int | None, lt: int | None, lte: int | None) -> tuple[int, int]:
        """Index range [lo, hi) of records whose created matches the filter."""
        lo, hi = 0, len(self.created)
        if gte is not None:
            lo = max(lo, bisect.bisect_left(self.created, gte))
        if gt is not None:
            lo = max(lo, bisect.bisect_right(self.created, gt))
        if lte is not None:
            hi = min(hi, bisect.bisect_right(self.created, lte))
        if lt is not None:
            hi = min(hi, bisect.bisect_left(self.created, lt))
        return lo, max(lo, hi)

    def descending(self, lo: int, hi: int) -> Iterator[str]:
        for i in range(hi - 1, lo - 1, -1):
            yield self.ids[i]

    def ascending(self, lo: int, hi: int) -> Iterator[str]:
        for i in range(lo, hi):
            yield self.ids[i]


@dataclass
class Page:
    ids: list[str]
    has_more: bool


@dataclass
class State:
    """Everything the emulator knows. One lock guards it; the server holds it per request."""

    seed: int = 1
    now: Callable[[], int] = field(default=lambda: 0)
    records: dict[str, Record] = field(default_factory=dict)
    collections: dict[tuple[str | None, str], Collection] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    idempotency: dict[tuple[str | None, str], tuple[str, int, bytes]] = field(default_factory=dict)
    platform_id: str = "acct_1EmuPlatform00001"
    application_id: str = "ca_EmuConnectOpsDemoApplication"
    bulk_loading: bool = False
    event_cutoff: int | None = None  # while seeding: events before this are past Stripe's retention
    platform_currency: str = "usd"  # the platform account's default_currency: what its balance settles in

    def __post_init__(self) -> None:
        self.new_id = IdMaker(self.seed)

    def finish_bulk_load(self) -> None:
        """Sort every collection once after a seed appended records in any order."""
        for coll in self.collections.values():
            # `created` as the records hold it now: a seed may re-date a record after adding it (the tax
            # demo's accounts), and a list cursor is found by bisecting these (GET ...?starting_after=).
            created = coll.created = [self.records[i]["created"] for i in coll.ids]
            if any(created[i] > created[i + 1] for i in range(len(created) - 1)):
                order = sorted(range(len(coll.ids)), key=created.__getitem__)
                coll.ids = [coll.ids[i] for i in order]
                coll.created = [created[i] for i in order]
            coll.pos = None
        self.bulk_loading = False

    def collection(self, scope: str | None, resource: str) -> Collection:
        key = (scope, resource)
        found = self.collections.get(key)
        if found is None:
            found = self.collections[key] = Collection()
        return found

    def add(self, resource: str, record: Record, scope: str | None = PLATFORM) -> Record:
        """Store a record in a scope; `_scope` and `_resource` travel with it."""
        record["_scope"] = scope
        record["_resource"] = resource
        object_id = record["id"]
        self.records[object_id] = record
        coll = self.collections.get((scope, resource))
        if coll is None:
            coll = self.collections[(scope, resource)] = Collection()
        if self.bulk_loading:
            coll.ids.append(object_id)
            coll.created.append(record["created"])
        else:
            coll.add(object_id, record["created"])
        return record

    def get(self, object_id: str, scope: str | None, resource: str | None = None) -> Record | None:
        """A record visible from `scope` (objects of another scope are invisible, as on Stripe)."""
        record = self.records.get(object_id)
        if record is None or record["_scope"] != scope:
            if record is not None and resource == "accounts" and scope is PLATFORM:
                return record
            return None
        if resource is not None and record["_resource"] != resource:
            return None
        return record

    def page(
        self,
        scope: str | None,
        resource: str,
        limit: int,
        created: dict[str, int],
        starting_after: str | None = None,
        ending_before: str | None = None,
        keep: Callable[[Record], bool] | None = None,
    ) -> Page:
        """One newest-first page, the way Stripe's list endpoints cut them."""
        coll = self.collections.get((scope, resource)) or Collection()
        lo, hi = coll.window(created.get("gt"), created.get("gte"), created.get("lt"), created.get("lte"))
        if ending_before is not None:
            lo = max(lo, self._index(coll, ending_before) + 1)
            found = list(self._matching(coll.ascending(lo, hi), keep, limit + 1))
            return Page(list(reversed(found[:limit])), len(found) > limit)
        if starting_after is not None:
            hi = min(hi, self._index(coll, starting_after))
        found = list(self._matching(coll.descending(lo, hi), keep, limit + 1))
        return Page(found[:limit], len(found) > limit)

    def _index(self, coll: Collection, object_id: str) -> int:
        record = self.records.get(object_id)
        if record is None:
            raise KeyError(object_id)
        return coll.index_of(object_id, record["created"])

    def _matching(self, ids: Iterator[str], keep: Callable[[Record], bool] | None, most: int) -> Iterator[str]:
        count = 0
        for object_id in ids:
            if keep is None or keep(self.records[object_id]):
                yield object_id
                count += 1
                if count >= most:
                    return

    def contains(self, scope: str | None, resource: str, object_id: str) -> bool:
        coll = self.collections.get((scope, resource))
        if coll is None:
            return False
        record = self.records.get(object_id)
        if record is None:
            return False
        try:
            coll.index_of(object_id, record["created"])
        except KeyError:
            return False
        return True

    def all_of(self, resource: str) -> Iterator[Record]:
        """Every record of a resource in every scope, for the dump endpoint and tests."""
        for (scope, name), coll in self.collections.items():
            if name == resource:
                for object_id in coll.ids:
                    yield self.records[object_id]

    def scopes(self) -> list[str | None]:
        return sorted({scope for scope, _ in self.collections}, key=lambda s: s or "")
