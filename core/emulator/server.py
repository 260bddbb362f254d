"""The HTTP layer: Stripe's auth, scoping, idempotency, faults and JSON errors over a threaded server."""
from __future__ import annotations

import email.utils
import hashlib
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from . import api, capture, control, objects, radar, versions  # noqa: F401  (capture, radar and versions add routes)
from .api import ApiError, Call
from .faults import Faults
from .params import ParamError, parse
from .persist import StateFile, saving
from .state import PLATFORM, State

DEFAULT_API_KEY = "sk_test_emulator"
STRIPE_VERSION = "2025-09-30.clover"


class Stats:
    """Request counters for benchmarks and tests (GET /_emulator/stats)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.by_endpoint: Counter[str] = Counter()
        self.by_account: Counter[str] = Counter()  # requests made with a Stripe-Account header, by account
        self.rate_limited = 0
        self.errors_injected = 0
        self.dropped = 0

    def as_dict(self) -> dict[str, Any]:
        return {"requests": sum(self.by_endpoint.values()), "by_endpoint": dict(self.by_endpoint),
                "rate_limited": self.rate_limited, "errors_injected": self.errors_injected,
                "dropped": self.dropped, "by_account": dict(self.by_account)}


class Emulator:
    """Everything one server needs: state, key, faults and counters."""

    persist: StateFile | None = None  # --state-file: every write is saved before it is answered

    def __init__(self, state: State, api_key: str = DEFAULT_API_KEY, faults: Faults | None = None) -> None:
        self.state = state
        self.api_key = api_key
        self.faults = faults or Faults()
        self.stats = Stats()

    def handle(self, method: str, target: str, headers: dict[str, str], body: str) -> tuple[int, dict[str, str], Any]:
        """One request in, (status, headers, JSON body) out. Never raises."""
        request_id = "req_" + self.state.new_id("req")[4:18]
        out = {"Request-Id": request_id, "Stripe-Version": headers.get("stripe-version", STRIPE_VERSION)}
        try:
            with saving(self.persist, self.state, method):
                status, body_json, extra = self._dispatch(method, target, headers, body, request_id)
            out.update(extra)
            return status, out, body_json
        except ApiError as exc:
            if exc.status == 500:
                out["Stripe-Should-Retry"] = "true"
            return exc.status, out, exc.body(request_id)
        except Exception as exc:  # an emulator bug must still look like Stripe's 500
            return 500, out, ApiError(500, f"Emulator error: {exc!r}", "api_error").body(request_id)

    def _dispatch(self, method: str, target: str, headers: dict[str, str], body: str,
                  request_id: str) -> tuple[int, Any, dict[str, str]]:
        url = urlsplit(target)
        path = url.path.rstrip("/") or "/"
        self._authenticate(headers.get("authorization"))
        if path.startswith("/_emulator/"):
            return 200, control.handle(self, method, path, _params(url.query, body)), {}
        route, match = api.resolve(method, path)
        endpoint = f"{method} {route.template}"
        if not self.faults.admit(endpoint):
            with self.stats.lock:
                self.stats.rate_limited += 1
            raise ApiError(429, "Request rate limit exceeded. You can learn more about rate limits here "
                                "https://stripe.com/docs/rate-limits.", code="rate_limit")
        with self.stats.lock:
            self.stats.by_endpoint[endpoint] += 1
            if headers.get("stripe-account"):
                self.stats.by_account[headers["stripe-account"]] += 1
        if self.faults.should_fail():
            with self.stats.lock:
                self.stats.errors_injected += 1
            raise ApiError(500, "An unknown error occurred (injected by the emulator).", "api_error")
        params = _params(url.query, body if method == "POST" else "")
        if method == "POST" or route.allowed != ("expand",):
            api.check_unknown(params, route.allowed)
        key = headers.get("idempotency-key") if method == "POST" else None
        with self.state.lock:
            scope = self._scope(headers.get("stripe-account"))
            call = Call(method, path, params, scope, self.state.now(), request_id, key, match,
                        api_version=headers.get("stripe-version") or STRIPE_VERSION)
            if key:
                return self._idempotent(call, route, key)
            return 200, versions.for_version(self.state, _expand(self.state, route.handler(self.state, call),
                                                                 params.get("expand")), call.api_version), {}

    def _authenticate(self, header: str | None) -> None:
        if not header:
            raise ApiError(401, "You did not provide an API key. You need to provide your API key in the "
                                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        if token != self.api_key:
            shown = f"{token[:8]}{'*' * 12}{token[-4:]}" if len(token) > 12 else "****"
            raise ApiError(401, f"Invalid API Key provided: {shown}")

    def _scope(self, account: str | None) -> str | None:
        if not account:
            return PLATFORM
        rec = self.state.records.get(account)
        if rec is None or rec["_resource"] != "accounts" or rec.get("_deauthorized"):
            raise ApiError(403, f"The provided key '{self.api_key[:8]}****{self.api_key[-4:]}' does not have access "
                                f"to account '{account}' (or that account does not exist). Application access may "
                                "have been revoked.", "invalid_request_error", code="account_invalid")
        return account

    def _idempotent(self, call: Call, route: api.Route, key: str) -> tuple[int, Any, dict[str, str]]:
        """Same key and params: the first answer again. Same key, other params: an error, as on Stripe."""
        fingerprint = hashlib.sha256(json.dumps([call.method, call.path, call.params], sort_keys=True)
                                     .encode()).hexdigest()
        stored = self.state.idempotency.get((call.scope, key))
        if stored is not None:
            if stored[0] != fingerprint:
                raise ApiError(400, "Keys for idempotent requests can only be used with the same parameters they "
                                    f"were first used with. Try using a key other than '{key}' if you meant to "
                                    "execute a different request.", "idempotency_error")
            return stored[1], json.loads(stored[2]), {"Idempotent-Replayed": "true", "Original-Request": stored[3]}
        try:
            status, body = 200, versions.for_version(self.state, _expand(
                self.state, route.handler(self.state, call), call.params.get("expand")), call.api_version)
        except ApiError as exc:
            if exc.status >= 500:
                raise
            status, body = exc.status, exc.body(call.request_id)
        self.state.idempotency[(call.scope, key)] = (fingerprint, status, json.dumps(body).encode(), call.request_id)
        return status, body, {"Idempotency-Key": key}


def _params(query: str, body: str) -> dict[str, Any]:
    try:
        params = parse(query)
        params.update(parse(body))
        return params
    except ParamError as exc:
        raise ApiError(400, str(exc), param=exc.param) from None


def _expand(state: State, body: Any, paths: Any) -> Any:
    """Replace id fields by their objects for `expand[]` paths (`data.` applies to each list item).

    On a list, an item without the property is left alone (a balance transaction's `source` is a
    charge on one item and a refund on the next, so `data.source.charge` fits only some of them);
    on a single object, a path that does not fit is an error, as Stripe's is.
    """
    if not paths:
        return body
    if not isinstance(paths, list):
        raise ApiError(400, "Invalid array", param="expand")
    for path in paths:
        parts = str(path).split(".")
        if len(parts) > 4:
            raise ApiError(400, "You cannot expand more than 4 levels of a property.", param="expand")
        if body.get("object") == "list" and parts[0] == "data":
            for item in body["data"]:
                _expand_one(state, item, parts[1:], strict=False)
        else:
            _expand_one(state, body, parts, strict=True)
    return body


def _expand_one(state: State, node: Any, parts: list[str], strict: bool) -> None:
    """Expand along `parts`, in place, every step of the way (expanding `a.b` expands `a` too)."""
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            if strict:
                raise ApiError(400, f"This property cannot be expanded ({'.'.join(parts)}).", param="expand")
            return
        value = node[part]
        if value is None:
            return
        if isinstance(value, str):
            rec = state.records.get(value)
            if rec is None:  # a source the emulator keeps no object for (a connect collection transfer)
                if not strict:
                    return
                raise ApiError(400, f"This property cannot be expanded ({'.'.join(parts)}).", param="expand")
            value = node[part] = objects.render(state, rec)
        node = value


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "EmulatorServer"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests and the app read stdout
        return

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The `Date` header by the emulator's clock (skewed with --clock-offset), as Stripe's is by its own."""
        now = self.server.emulator.state.now() if timestamp is None else timestamp
        return email.utils.formatdate(now, usegmt=True)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        headers = {k.lower(): v for k, v in self.headers.items()}
        emulator = self.server.emulator
        delay = emulator.faults.delay()
        status, out_headers, payload = emulator.handle(self.command, self.path, headers, body)
        if delay:
            time.sleep(delay)
        if not self.path.startswith("/_emulator/") and emulator.faults.should_drop():
            self.close_connection = True  # handled (a POST took effect) but never answered, as a dropped link
            with emulator.stats.lock:
                emulator.stats.dropped += 1
            return
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in out_headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = _serve
    do_POST = _serve
    do_DELETE = _serve


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, emulator: Emulator, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.emulator = emulator

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


