"""Our one door to Stripe: the official SDK's StripeClient, a rate budget, retries and counters.

Why not just the SDK? Its retries skip a plain 429 (the one error a fast sync meets most) and it has
no notion of Stripe's per-endpoint and overall rate limits, which a concurrent backfill must respect
or spend its time in 429 back-off. So: token buckets (one per endpoint, one overall) taken before
every request, and our own retry loop (429, 5xx the API marks retryable, dropped connections) with
exponential back-off and full jitter. The SDK's own network retries are off so every attempt is
counted and paced here.
"""
from __future__ import annotations

import email.utils
import logging
import random
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
import stripe

from core import clock

T = TypeVar("T")

# The URL path segment of each list resource we sync.
SERVICES = {
    "accounts": "accounts",
    "charges": "charges",
    "transfers": "transfers",
    "application_fees": "application_fees",
    "refunds": "refunds",
    "disputes": "disputes",
    "early_fraud_warnings": "radar/early_fraud_warnings",
    "balance_transactions": "balance_transactions",
    "payouts": "payouts",
    "events": "events",
}
_ID_SEGMENT = re.compile(r"^[a-z]{2,5}_[A-Za-z0-9_]+$")
_NAMES = {part for path in SERVICES.values() for part in path.split("/")}  # "early_fraud_warnings" is no id


class StripeApiError(RuntimeError):
    """A request failed for good; `str()` is one line a person can act on."""


class BadApiKeyError(StripeApiError):
    pass


class ApiUnreachableError(StripeApiError):
    pass


class ResourceMissingError(StripeApiError):
    pass


class AccountAccessError(StripeApiError):
    """The platform may not reach this connected account: it disconnected, or never was ours."""

    account: str | None = None


class TokenBucket:
    """Thread-safe token bucket by reservation: each caller is told when its turn comes.

    Reservations let many threads share one rate fairly without polling; the burst is small (a fifth
    of a second of tokens) so our pacing never overruns the server's own bucket by much.
    """

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = self.ceiling = float(rate)
        self.capacity = max(1.0, burst if burst is not None else self.rate / 5)
        self._tokens = self.capacity
        self._stamp = time.monotonic()
        self._slowed = 0.0
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def reserve(self) -> float:
        """Take one token; return how many seconds to wait before using it."""
        with self._lock:
            now = time.monotonic()
            self._refill(now)
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def ready_in(self) -> float:
        """Seconds until a token would be free, without taking it (for scheduling)."""
        with self._lock:
            self._refill(time.monotonic())
            return 0.0 if self._tokens >= 1 else (1.0 - self._tokens) / self.rate

    def slow_down(self) -> None:
        """A 429 says someone else (the platform's own traffic) shares the limit: back off the rate."""
        with self._lock:
            now = time.monotonic()
            if now - self._slowed < 1.0:  # one cut per second: a burst of 429s is one signal
                return
            self._slowed = now
            self.rate = max(self.ceiling / 20, self.rate * 0.7)

    def speed_up(self) -> None:
        """Each success wins back a little of the configured rate (additive increase)."""
        if self.rate < self.ceiling:
            with self._lock:
                self.rate = min(self.ceiling, self.rate + self.ceiling / 500)

    def acquire(self) -> None:
        wait = self.reserve()
        if wait > 0:
            time.sleep(wait)


@dataclass
class RequestStats:
    """Attempts made (including retries), by endpoint; thread-safe increments."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    by_endpoint: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, endpoint: str, *, retry: bool = False, limited: bool = False) -> None:
        with self._lock:
            self.requests += 1
            self.by_endpoint[endpoint] += 1
            self.retries += int(retry)
            self.rate_limited += int(limited)


@dataclass
class Page:
    data: list[dict[str, Any]]
    has_more: bool
    body: str | None = None  # the response text as Stripe sent it (the store extracts rows from it in SQL)


def endpoint_key(method: str, path: str) -> str:
    """'GET /v1/charges/ch_1' -> 'GET /v1/charges/{id}': the unit Stripe rate-limits by."""
    parts = ["{id}" if _ID_SEGMENT.match(p) and p not in _NAMES else p for p in path.split("/")]
    return f"{method.upper()} {'/'.join(parts)}"


class ServerClock:
    """Stripe's time, read off the `Date` header of its responses: never this machine's clock.

    A response dated D (whole seconds, server time) and received at local monotonic time r was
    written before r, so Stripe's clock was at most D + 1 - r ahead, and at least D - r: every
    response gives a lower bound of the offset, and the largest recent bound is what `now()` uses.
    An estimate that is low by up to a second or two (latency) only makes a watermark earlier, which
    is safe; a clock that is late by minutes would lose changes, which this cannot be.
    """

    def __init__(self) -> None:
        self._bounds: deque[float] = deque(maxlen=64)
        self._lock = threading.Lock()

    def observe(self, date_header: str | None, received: float) -> None:
        if not date_header:
            return
        try:
            server = email.utils.parsedate_to_datetime(date_header).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return
        with self._lock:
            self._bounds.append(server - received)

    @property
    def known(self) -> bool:
        return bool(self._bounds)

    def now(self) -> int:
        """Stripe's current unix time (whole seconds, rounded down); needs one observed response."""
        with self._lock:
            if not self._bounds:
                raise StripeApiError("Stripe's time is not known yet: no response with a Date header was seen")
            offset = max(self._bounds)
        return int(time.monotonic() + offset)

    def skew(self) -> float | None:
        """Seconds this machine's clock runs ahead of Stripe's (negative: behind), about; None before a response."""
        with self._lock:
            if not self._bounds:
                return None
            offset = max(self._bounds)
        return clock.timestamp() - (time.monotonic() + offset)  # our clock: pinned with CONNECT_OPS_NOW


class ApiHealth:
    """Tells a down API from a flaky one, across every thread's requests.

    Down: connection errors with no success in between, DOWN_AFTER of them in a row (any request,
    any thread): give up at once with the cause. Flaky: successes keep coming between the failures:
    retry, up to the usual attempts.
    """

    DOWN_AFTER = 6

    def __init__(self) -> None:
        self._failures_in_row = 0
        self._lock = threading.Lock()

    def succeeded(self) -> None:
        with self._lock:
            self._failures_in_row = 0

    def connection_failed(self) -> bool:
        """Count one connection error; True when the API now looks down."""
        with self._lock:
            self._failures_in_row += 1
            return self._failures_in_row >= self.DOWN_AFTER


class StripeApi:
    """StripeClient plus rate budget, retries, counters and Stripe's clock; safe to share between threads."""

    def __init__(
        self,
        api_key: str,
        api_base: str = "https://api.stripe.com",
        *,
        max_rps: float = 25.0,
        max_rps_per_endpoint: float = 25.0,
        max_attempts: int = 10,
        backoff_base: float = 0.25,
        backoff_cap: float = 8.0,
        stripe_version: str | None = None,
    ) -> None:
        self.client = stripe.StripeClient(
            api_key, base_addresses={"api": api_base}, max_network_retries=0, stripe_version=stripe_version
        )
        self.api_version: str = stripe_version or stripe.api_version  # what every request says (Stripe-Version)
        self.api_base = api_base
        self.max_rps_per_endpoint = max_rps_per_endpoint
        self.global_bucket = TokenBucket(max_rps)
        self._buckets: dict[str, TokenBucket] = {}
        self._buckets_lock = threading.Lock()
        self.stats = RequestStats()
        self.clock = ServerClock()
        self.health = ApiHealth()
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap

    # -- rate budget

    def bucket(self, endpoint: str) -> TokenBucket:
        with self._buckets_lock:
            bucket = self._buckets.get(endpoint)
            if bucket is None:
                bucket = self._buckets[endpoint] = TokenBucket(self.max_rps_per_endpoint)
            return bucket

    def ready_in(self, endpoint: str) -> float:
        return max(self.bucket(endpoint).ready_in(), self.global_bucket.ready_in())

    def _pace(self, endpoint: str) -> None:
        """Endpoint token first, then the overall one, so a wait on one never wastes the other."""
        self.bucket(endpoint).acquire()
        self.global_bucket.acquire()

    # -- requests

    def list(self, resource: str, params: dict[str, Any], account: str | None = None) -> Page:
        """One page of a list endpoint, as plain dicts (the JSON Stripe sent) and as the response text."""
        body, data = self.fetch(f"/v1/{SERVICES[resource]}", params, account)
        return Page(list(data.get("data") or []), bool(data.get("has_more")), body)

    def retrieve(self, resource: str, object_id: str, account: str | None = None) -> dict[str, Any]:
        return self.get(f"/v1/{SERVICES[resource]}/{object_id}", {}, account)

    def get(self, path: str, params: dict[str, Any], account: str | None = None) -> dict[str, Any]:
        """GET as plain dicts (see `fetch`)."""
        return self.fetch(path, params, account)[1]

    def fetch(self, path: str, params: dict[str, Any], account: str | None = None) -> tuple[str, dict[str, Any]]:
        """GET through the SDK's requestor (its auth, headers, encoding and errors): (body text, parsed JSON).

        Typed StripeObjects cost ~200 ms per page of 100 charges (measured; the HTTP call itself ~10 ms),
        and even the SDK's `raw_request` parses every body with an OrderedDict hook (~3x json.loads), so a
        successful response is parsed here with plain dicts (orjson: half json's time, which was a quarter
        of the sync's time holding the GIL), and the text is kept: the store derives its rows from it in
        SQL. Errors still go through the SDK's interpretation (its exception classes).
        """
        options = {"stripe_account": account} if account else {}
        try:
            text = self.call("GET", path, lambda: self._get_text(path, {**params, **options}))
        except AccountAccessError as exc:
            exc.account = account or _account_in(path)
            raise
        return text, orjson.loads(text)

    def _get_text(self, path: str, params: dict[str, Any]) -> str:
        text, headers = _get_text(self.client, path, params)
        self.clock.observe(_header_value(headers, "date"), time.monotonic())
        return text

    def stripe_now(self) -> int:
        """Stripe's unix time now; one cheap request first when no response has told it yet."""
        if not self.clock.known:
            self.fetch("/v1/events", {"limit": 1})
        return self.clock.now()
    def call(self, method: str, path: str, send: Callable[[], T]) -> T:
        """Run one SDK call under the rate budget, retrying what Stripe says is worth retrying."""
        endpoint = endpoint_key(method, path)
        for attempt in range(self.max_attempts):
            self._pace(endpoint)
            try:
                result = send()
                self.health.succeeded()
                self.stats.count(endpoint, retry=attempt > 0)
                self.bucket(endpoint).speed_up()
                self.global_bucket.speed_up()
                return result
            except stripe.StripeError as exc:
                limited = isinstance(exc, stripe.RateLimitError)
                self.stats.count(endpoint, retry=attempt > 0, limited=limited)
                attempts = self.max_attempts
                if limited:
                    self.bucket(endpoint).slow_down()
                    self.global_bucket.slow_down()
                    attempts = max(attempts, 30)  # being told to wait is not failure
                if isinstance(exc, stripe.APIConnectionError) and self.health.connection_failed():
                    attempts = 0  # every recent request failed to connect: down, not flaky; say so now
                if not _retryable(exc, method) or attempt + 1 >= attempts:
                    raise _translate(exc, self.api_base) from None
            time.sleep(self._backoff(attempt))
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^attempt)], so retrying threads spread out."""
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * 2**attempt))


def _get_text(client: stripe.StripeClient, path: str, params: dict[str, Any]) -> tuple[str, Any]:
    """`StripeClient.raw_request("get", ...)` without parsing a successful body (SDK 16 internals)."""
    from stripe._request_options import extract_options_from_dict
    from stripe._util import get_api_mode

    options, params = extract_options_from_dict(dict(params))
    api_mode = get_api_mode(path)
    requestor = client._requestor
    if _sdk_logs_debug():
        rbody, rcode, rheaders = requestor.request_raw(
            "get", path, params=params, options=options, base_address="api", api_mode=api_mode, usage=["raw_request"]
        )
    else:
        # request_raw less its log lines: it formats every response body for a debug line (logfmt: a repr
        # and two regex scans of ~100 KB) whether or not anything logs at debug level, 14% of a 5,000-account
        # sync's CPU, holding the GIL. Same requestor, headers, encoding and HTTP client.
        method, url, headers, post_data, retries, usage, *_ = requestor._args_for_request_with_retries(
            "get", path, params, options, base_address="api", api_mode=api_mode, usage=["raw_request"])
        rbody, rcode, rheaders = requestor._get_http_client().request_with_retries(
            method, url, headers, post_data, max_network_retries=retries, _usage=usage)
    text = rbody.decode("utf-8") if isinstance(rbody, bytes) else str(rbody)
    if not 200 <= rcode < 300:
        requestor._interpret_response(text, rcode, rheaders, api_mode)  # raises the SDK's error
        raise stripe.APIError(f"unexpected HTTP {rcode}", text, rcode, rheaders)
    return text, rheaders


def _sdk_logs_debug() -> bool:
    """Whether the SDK's debug lines (response bodies) would show: STRIPE_LOG / stripe.log, or its logger."""
    from stripe._util import _console_log_level

    return _console_log_level() == "debug" or logging.getLogger("stripe").isEnabledFor(logging.DEBUG)


def _account_in(path: str) -> str | None:
    """The connected account a platform request is about (`/v1/accounts/acct_...`), if any."""
    parts = path.split("/")
    return parts[3] if len(parts) > 3 and parts[2] == "accounts" and parts[3].startswith("acct_") else None


def _header_value(headers: Any, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None


def _header(exc: stripe.StripeError, name: str) -> str | None:
    return _header_value(exc.headers, name)


def _retryable(exc: stripe.StripeError, method: str) -> bool:
    if isinstance(exc, stripe.RateLimitError):
        return True
    if isinstance(exc, stripe.APIConnectionError):
        return bool(getattr(exc, "should_retry", True))
    status = exc.http_status or 0
    should = _header(exc, "stripe-should-retry")
    if should is not None:
        return should == "true"
    return status >= 500 and method == "GET" or status == 409


_CAUSES = (("refused", "connection refused"), ("timed out", "timed out"), ("Name or service not known", "unknown host"),
           ("nodename nor servname", "unknown host"), ("CERTIFICATE_VERIFY_FAILED", "TLS certificate rejected"),
           ("reset by peer", "connection reset"))


def _network_cause(text: str) -> str:
    """The SDK's connection errors are a paragraph of boilerplate; keep the cause a person can act on."""
    for needle, cause in _CAUSES:
        if needle in text:
            return cause
    return "network error"


def _error_code(exc: stripe.StripeError) -> str | None:
    """Stripe's `error.code` (the SDK sets `.code` on some error classes only, e.g. not on a 403)."""
    body = exc.json_body if isinstance(exc.json_body, dict) else {}
    return exc.code or (body.get("error") or {}).get("code")


def _translate(exc: stripe.StripeError, api_base: str) -> StripeApiError:
    """SDK errors to ours, with a one-line message naming the cause."""
    message = (exc.user_message or str(exc) or type(exc).__name__).splitlines()[0]
    if _error_code(exc) == "account_invalid":
        return AccountAccessError(f"no access to the connected account: {message}")
    if isinstance(exc, (stripe.AuthenticationError, stripe.PermissionError)):
        return BadApiKeyError(f"Stripe rejected the API key ({exc.http_status}): {message}")
    if isinstance(exc, stripe.APIConnectionError):
        return ApiUnreachableError(f"cannot reach the Stripe API at {api_base} ({_network_cause(str(exc))})")
    if isinstance(exc, stripe.InvalidRequestError) and exc.code == "resource_missing":
        return ResourceMissingError(message)
    return StripeApiError(f"Stripe API error ({exc.http_status}): {message}")
