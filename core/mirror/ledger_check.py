"""The ledger check: after an incremental, each scope where money moved must have a mirrored ledger that
explains its balance, whatever created the balance transactions (issue 18, section 3).

Per scope, the sum of its balance transactions' `net` by currency is compared with `GET /v1/balance` for
that scope (available plus pending), and so is the split between them, by `available_on` against Stripe's
clock as the responses tell it (skipped for a currency with a transaction that becomes available within
SPLIT_SLACK seconds of that instant: there the two clocks cannot be told apart).

Money moving during the check is no difference: a balance read at Stripe time T is compared with the
mirrored transactions created by T (give or take the second), and a difference is first taken for money
that moved while this run listed: the scope's window is re-listed and compared again (CATCH_UPS times at
most, the second time against a fresh balance). A difference that stays means the mirror lacks or holds a
transaction that no window explains (a row lost, a movement no event named long ago): the scope's balance
transactions are re-listed in full, and that is said in the run log (`sync_runs.log`, shown in the
Overview's sync history) with the amounts before and after.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.mirror.schema import to_timestamp

if TYPE_CHECKING:
    from core.mirror.sync import SyncEngine, Task, Write

CATCH_UPS = 2  # re-lists of a scope's window before a difference is taken for a real one
SPLIT_SLACK = 5  # seconds around Stripe's "now" where available/pending cannot be told apart
LOG_PREFIX = "ledger check:"  # run-log lines of this check start so (core/overview/sync_history.py)


@dataclass
class Figures:
    """One currency's balance: total (available + pending) and the available part; `near` counts the
    transactions that become available too close to the instant for the split to be compared."""

    total: int = 0
    available: int = 0
    near: int = 0

    def text(self, currency: str) -> str:
        return f"{currency} {self.total:,} ({self.available:,} available)"


def stripe_figures(balance: dict[str, Any]) -> dict[str, Figures]:
    """GET /v1/balance -> Figures per currency (pending + available)."""
    out: dict[str, Figures] = {}
    for part in ("available", "pending"):
        for line in balance.get(part) or []:
            figures = out.setdefault(str(line["currency"]), Figures())
            figures.total += int(line["amount"])
            if part == "available":
                figures.available += int(line["amount"])
    return out


def mirror_figures(cursor: Any, scope: str, at: int, cut: int | None = None) -> dict[str, Figures]:
    """The mirrored ledger of a scope as Figures per currency, split at Stripe time `at` (unix seconds),
    counting only what was created by `cut` (Stripe time; None: everything)."""
    rows = cursor.execute(
        """SELECT currency, sum(net)::BIGINT,
                  coalesce(sum(net) FILTER (WHERE available_on <= $at), 0)::BIGINT,
                  count(*) FILTER (WHERE available_on BETWEEN $low AND $high)
           FROM balance_transactions WHERE scope = $scope AND ($cut IS NULL OR created <= $cut)
           GROUP BY currency""",
        {"at": to_timestamp(at), "low": to_timestamp(at - SPLIT_SLACK), "high": to_timestamp(at + SPLIT_SLACK),
         "scope": scope, "cut": to_timestamp(cut)}).fetchall()
    return {currency: Figures(int(total or 0), int(available or 0), int(near or 0))
            for currency, total, available, near in rows}


def difference(stripe: dict[str, Figures], mirror: dict[str, Figures]) -> str | None:
    """What differs, in words (None when the ledger explains the balance)."""
    problems = []
    for currency in sorted(set(stripe) | set(mirror)):
        want, have = stripe.get(currency, Figures()), mirror.get(currency, Figures())
        if want.total != have.total or (not have.near and want.available != have.available):
            problems.append(f"mirrored {have.text(currency)}, Stripe's balance {want.text(currency)}")
    return "; ".join(problems) or None


@dataclass
class BalanceRead:
    """One GET /v1/balance of one scope, and Stripe's time right after it."""

    scope: str
    check: LedgerCheck
    then: list[Task] = field(default_factory=list)  # the scope's re-list, sent once the balance is read
    endpoint: str = "GET /v1/balance"
    stream: str = "balances"

    def rank(self, engine: SyncEngine) -> tuple[float, int]:
        return (0.0, 0)

    def run(self, engine: SyncEngine) -> tuple[Write | None, list[Task]]:
        balance = engine.api.get("/v1/balance", {}, self.scope or None)
        self.check.read[self.scope] = (balance, engine.api.stripe_now())
        return None, self.then


@dataclass
class LedgerCheck:
    """Runs after an incremental's refresh phase (SyncEngine.run), with the scopes where money moved; their
    balances are read during that phase, each just before its scope's re-list (`read_first`)."""

    engine: SyncEngine
    read: dict[str, tuple[dict[str, Any], int]] = field(default_factory=dict)
    repaired: list[str] = field(default_factory=list)  # scopes re-listed in full this run
    _reading: set[str] = field(default_factory=set)  # balance reads sent before a re-list (read_first)

    def read_first(self, scope: str, relist: Task) -> Task:
        """The scope's balance read, then (its follow-up) the re-list of its ledger: the balance is read
        during the refresh, not after it, and everything created by the read's instant is in what the
        re-list returns, as the comparison requires. Once a run: a scope read already just re-lists."""
        if scope in self.read or scope in self._reading:
            return relist
        self._reading.add(scope)
        return BalanceRead(scope, self, [relist])

    def run(self, scopes: list[str]) -> None:
        if not scopes:
            return
        unread = [scope for scope in scopes if scope not in self.read]  # read during the refresh: compared now
        if unread:
            self.engine.scheduler.submit(BalanceRead(scope, self) for scope in unread)
            self.engine.scheduler.run_until_idle()
        differing = self._compare(scopes, fresh=False)
        for attempt in range(CATCH_UPS):
            if not differing:
                break
            if attempt:  # a second look: Stripe's balance now
                differing = self._compare(list(differing))
                if not differing:
                    break
            # Money that moved while this run listed: the same balances against the window listed again.
            self._relist({scope: self.engine.ledger_window(scope) for scope in differing})
            differing = self._compare(list(differing), fresh=False)
        for scope, what in differing.items():
            self.engine.note(f"{LOG_PREFIX} {_label(scope)}: {what}; re-listing its balance transactions in full")
        if differing:
            self._relist(dict.fromkeys(differing, 0))
            after = self._compare(list(differing))
            for scope in differing:
                self.repaired.append(scope)
                still = after.get(scope)
                self.engine.note(f"{LOG_PREFIX} {_label(scope)}: " + (
                    f"still differs after the full re-list ({still}); money may be moving now: the next sync "
                    "checks again" if still else "re-listed in full, its ledger now explains its balance"))
        agree = len(scopes) - len(differing)
        self.engine.note(f"{LOG_PREFIX} {len(scopes)} scope(s) where money moved: {agree} agreed with Stripe's "
                         f"balance, {len(differing)} re-listed in full" + (
                             f" ({', '.join(_label(s) for s in differing)})" if differing else ""))

    def _compare(self, scopes: list[str], fresh: bool = True) -> dict[str, str]:
        """scope -> what differs, for the scopes whose ledger does not explain their balance. `fresh`: read
        the balances now (in parallel, under the rate budget); else compare the last ones read again.

        A balance read at Stripe time `at` holds what was created by then: it is compared with the mirrored
        transactions created by `at` (a second either way: `at` is known to the second, and a transaction
        of that very second may fall either side of the read), so money moving during the check is no
        difference."""
        if fresh:
            self.read = {}
            self.engine.scheduler.submit(BalanceRead(scope, self) for scope in scopes)
            self.engine.scheduler.run_until_idle()
        out = {}
        cursor = self.engine.store.cursor()
        try:
            for scope in scopes:
                if scope not in self.read:  # the account refused us meanwhile: noted by lost_access
                    continue
                balance, at = self.read[scope]
                stripe = stripe_figures(balance)
                found = [difference(stripe, mirror_figures(cursor, scope, at, cut)) for cut in (at, at - 1, at + 1)]
                if all(found):
                    out[scope] = str(found[0])
        finally:
            cursor.close()
        return out

    def _relist(self, since: dict[str, int]) -> None:
        from core.mirror.sync import EVENT_OVERLAP, Relist

        tasks = [Relist(scope, "balance_transactions", max(0, start - EVENT_OVERLAP) if start else 0)
                 for scope, start in since.items()]
        self.engine.scheduler.submit(tasks)
        self.engine.scheduler.run_until_idle()
        self.engine.writer.flush()


def _label(scope: str) -> str:
    return scope or "platform"

