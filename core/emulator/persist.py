"""`--state-file PATH`: the emulator's state outlives its process, so a restart is not a new platform.

The file is one snapshot of everything the emulator knows (records, list order, idempotency keys):
a short JSON header line (format, seed, scale, anchor, an instance id) followed by a pickle of the
state. It is written

- once at start when there is no usable file (a fresh seed), and
- after every request that may change state (all but GET and HEAD), while the state lock is held
  and before the response is sent: a temporary file in the same folder, fsync, `os.replace`, fsync
  of the folder.

So whatever a client has seen acknowledged is on disk, and no reader can see a change that is not:
every request handler runs under the same lock. A `kill -9` at any instant leaves either the old
snapshot or the new one, never half of one. If the save itself fails the process exits at once,
still holding the lock, so nobody ever observes a state the file does not have.

A file is reused only when it was written by this format and these record-shaping modules, for the
same seed and scale (and `--anchor`, when one is given), and its history ended at most MAX_AGE_DAYS
ago (older demo data would leave "last 7 days" empty); otherwise the platform is seeded afresh with a
new instance id. The instance id lets a client (the app's demo mode) tell whether the platform it
mirrored earlier is the one now served.

Ids made after a restart come from a freshly seeded generator: the seeded one would repeat ids that
objects created before the restart already carry. One process at a time may use a file (an advisory
lock on PATH.lock); a second waits up to LOCK_WAIT seconds, then exits with a message.

Costs (this 2-core machine): small 6 MB, ~0.1 s per save; medium 124 MB, ~2-3 s per save, so writes
are slow at medium with a state file (the app's demo writes only on people's actions).
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import gc
import hashlib
import json
import os
import pickle
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .state import IdMaker, State

MAGIC = b"connect-ops emulator state\n"
FORMAT = 1
DAY = 86_400
MAX_AGE_DAYS = 7
LOCK_WAIT = 15.0
EXIT_SAVE_FAILED = 70
READ_METHODS = ("GET", "HEAD")  # every other method (POST, DELETE) may change state and is saved
# What a snapshot holds: everything in State except the lock, the clock and the id generator.
FIELDS = ("seed", "records", "collections", "idempotency", "platform_id", "application_id", "event_cutoff")
# Saved too, read when present (files written before it existed lack it).
OPTIONAL_FIELDS = ("platform_currency",)
# Every emulator module may decide what a record holds (the seeding lives in several: tax_demo.py, revenue_demo.py
# and the like), so a snapshot made by any other emulator code is not reused.
SHAPE_MODULES = tuple(sorted(p.name for p in Path(__file__).parent.glob("*.py")))


class StateFileError(RuntimeError):
    """The state file cannot be used (held by another emulator, or not writable); one line for a person."""


def shape_fingerprint() -> str:
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for name in SHAPE_MODULES:
        digest.update(name.encode() + b"\0" + (here / name).read_bytes())
    return digest.hexdigest()[:16]


def default_anchor(clock_offset: float = 0.0) -> int:
    """What the seed uses when no --anchor is given: today's midnight UTC by the emulator's clock."""
    return int(time.time() + clock_offset) // DAY * DAY


class StateFile:
    """One emulator's state file: load or seed at start, then save after every write."""

    def __init__(self, path: str | Path, seed: int, scale: str, anchor: int | None = None,
                 clock_offset: float = 0.0) -> None:
        self.path = Path(path)
        self.seed, self.scale = seed, scale
        self.requested_anchor = anchor
        self.clock_offset = clock_offset
        self.anchor = anchor if anchor is not None else default_anchor(clock_offset)
        self.instance: str | None = None
        self.restored = False
        self.reason = ""  # why the file was not reused, for the log line
        self.saves = 0
        self._lock_file: Any = None

    # -- start

    def open(self, generate: Callable[[int], State]) -> State:
        """The saved state when it fits, else `generate(anchor)` saved at once. Takes the file's lock."""
        self._lock()
        state = self._load()
        if state is None:
            state = generate(self.anchor)
            self.instance = secrets.token_hex(8)
            self.restored = False
            self.save(state)
        return state

    def describe(self) -> str:
        """The ready line's part: `state=restored|new instance=ID`."""
        return f"state={'restored' if self.restored else 'new'} instance={self.instance}"

    def _lock(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        handle = open(lock_path, "a+")  # noqa: SIM115 - held open (locked) for the life of the process
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() > deadline:
                    handle.close()
                    raise StateFileError(f"{self.path} is in use by another emulator process") from None
                time.sleep(0.1)
        self._lock_file = handle  # held (open) for the life of the process
        for stale in self.path.parent.glob(self.path.name + ".*.tmp"):  # left by a save cut short
            with contextlib.suppress(OSError):
                stale.unlink()

    def _load(self) -> State | None:
        try:
            with open(self.path, "rb") as source:
                if source.readline() != MAGIC:
                    self.reason = "not an emulator state file"
                    return None
                header = json.loads(source.readline())
                if not self._fits(header):
                    return None
                gc_was = gc.isenabled()
                gc.disable()  # millions of small acyclic dicts: see seed.generate
                try:
                    fields = pickle.load(source)
                finally:
                    if gc_was:
                        gc.enable()
        except FileNotFoundError:
            self.reason = "no state file yet"
            return None
        except (OSError, ValueError, EOFError, pickle.UnpicklingError, AttributeError, ImportError) as exc:
            self.reason = f"unreadable ({type(exc).__name__}: {exc})"
            return None
        offset = self.clock_offset
        state = State(seed=fields["seed"], now=lambda: int(time.time() + offset))
        for name in FIELDS:
            setattr(state, name, fields[name])
        state.platform_currency = fields.get("platform_currency", state.platform_currency)  # newer files hold it
        state.new_id = IdMaker(secrets.randbits(64))  # never repeat an id made before the restart
        gc.freeze()
        self.anchor = int(header["anchor"])
        self.instance = str(header["instance"])
        self.restored = True
        return state

    def _fits(self, header: dict[str, Any]) -> bool:
        checks = [
            (header.get("format") == FORMAT and header.get("fingerprint") == shape_fingerprint(),
             "written by other emulator code"),
            (header.get("seed") == self.seed and header.get("scale") == self.scale, "another seed or scale"),
            (self.requested_anchor is None or header.get("anchor") == self.requested_anchor, "another --anchor"),
            (self.requested_anchor is not None
             or int(header.get("anchor", 0)) >= self.anchor - MAX_AGE_DAYS * DAY,
             f"its history ended more than {MAX_AGE_DAYS} days ago"),
            (self.requested_anchor is not None or int(header.get("anchor", 0)) <= self.anchor,
             "its history ends after today (the clock was pinned later before: --now, CONNECT_OPS_NOW)"),
        ]
        for ok, reason in checks:
            if not ok:
                self.reason = reason
                return False
        return True

    # -- writes

    def save(self, state: State) -> None:
        """Replace the file with a snapshot of `state` (the caller holds state.lock, or nobody else runs)."""
        header = {"format": FORMAT, "fingerprint": shape_fingerprint(), "seed": self.seed, "scale": self.scale,
                  "anchor": self.anchor, "instance": self.instance, "saved_at": int(time.time()),
                  "objects": len(state.records)}
        fields = {name: getattr(state, name) for name in (*FIELDS, *OPTIONAL_FIELDS)}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name + ".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(MAGIC)
                out.write(json.dumps(header).encode() + b"\n")
                pickle.dump(fields, out, protocol=pickle.HIGHEST_PROTOCOL)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
        self.saves += 1

    @contextlib.contextmanager
    def guard(self, state: State, method: str) -> Iterator[None]:
        """Around one request: a write (POST, DELETE) runs under the state lock and is saved before its
        answer goes out."""
        if method in READ_METHODS:
            yield
            return
        with state.lock:
            try:
                yield
            finally:
                try:
                    self.save(state)
                except BaseException as exc:  # noqa: BLE001 - unsaved but visible would break the promise
                    print(f"emulator: cannot save {self.path}: {exc}; exiting", file=sys.stderr, flush=True)
                    os._exit(EXIT_SAVE_FAILED)


def saving(persist: StateFile | None, state: State, method: str) -> contextlib.AbstractContextManager[None]:
    """`persist.guard(...)`, or nothing when the emulator runs without a state file."""
    return persist.guard(state, method) if persist is not None else contextlib.nullcontext()
