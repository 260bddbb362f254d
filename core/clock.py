"""The platform's "now", in one place: every business date ("today", the tax year, a risk month, a
revenue period) and every bookkeeping time (when we synced, when someone acted) comes from here.

Normally that is this machine's clock, read in UTC (never the local zone). In demo mode and in tests
`CONNECT_OPS_NOW` (an ISO instant in UTC, e.g. `2027-01-01T00:00:30Z`) pins it: the clock starts at
that instant when this process first reads it and runs on in real time from there, so durations,
ordering and timeouts behave as usual. The demo emulator is started at the app's current reading
(`--now`, core/emulator/launcher.py), so the emulator's history ends that day and both clocks agree.
With a real Stripe key the setting is refused (core/settings.py): there the clock is Stripe's.

What Stripe's data means in time (watermarks, "due", "pending until") comes from Stripe's own clock
(core/stripe_api.py's ServerClock), never from here.
"""
from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime

PIN_VARIABLE = "CONNECT_OPS_NOW"
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # Stripe Connect's data starts after this; a typo before it is a typo
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


class ClockError(ValueError):
    """CONNECT_OPS_NOW is not a usable instant; the message is one line naming the setting."""


def parse_instant(text: str | datetime) -> datetime:
    """An ISO instant in UTC ("2027-01-01T00:00:30Z", "+00:00", or no offset: read as UTC) as an aware
    datetime; ClockError for anything else or outside 2000-2099."""
    if isinstance(text, datetime):
        when = text
    else:
        raw = str(text).strip()
        try:
            when = datetime.fromisoformat(raw.replace("z", "Z").replace("Z", "+00:00"))
        except ValueError:
            raise ClockError(f"{PIN_VARIABLE} must be an ISO instant in UTC such as 2027-01-01T00:00:30Z, "
                             f"not {raw[:40]!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    elif when.utcoffset() != UTC.utcoffset(None):
        raise ClockError(f"{PIN_VARIABLE} must be in UTC (end it with Z), not {when.isoformat()}")
    if not EARLIEST <= when < LATEST:
        raise ClockError(f"{PIN_VARIABLE} must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (UTC), "
                         f"not {when:%Y-%m-%d}")
    return when


_pins: dict[str, tuple[float, float]] = {}  # pinned text -> (its unix time, time.monotonic() when first read)
_explicit: str | None = None  # pinned by pin() (e.g. from secrets.toml), wins over the environment


def pin(instant: str | datetime | None) -> None:
    """Pin the clock for this process (None: back to the environment / this machine's clock)."""
    global _explicit
    _explicit = None if instant is None else parse_instant(instant).isoformat()


def pinned_text() -> str | None:
    """The pinned instant's text (from pin() or CONNECT_OPS_NOW), or None when the clock is the machine's."""
    text = _explicit or os.environ.get(PIN_VARIABLE, "").strip()
    return text or None


def timestamp() -> float:
    """Now, as unix time."""
    text = pinned_text()
    if text is None:
        return time.time()
    found = _pins.get(text)
    if found is None:
        found = _pins.setdefault(text, (parse_instant(text).timestamp(), time.monotonic()))
    start, at = found
    return start + (time.monotonic() - at)


def now() -> datetime:
    """Now, an aware UTC datetime."""
    return datetime.fromtimestamp(timestamp(), UTC)


def utc_now() -> datetime:
    """Now in UTC, without a zone (DuckDB TIMESTAMP has none; ours is always UTC)."""
    return now().replace(tzinfo=None)


def today() -> date:
    """Today's date in UTC (never the machine's local zone): the business day every rule counts from."""
    return now().date()
