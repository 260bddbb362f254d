"""Faults on demand: Stripe-like latency, token-bucket rate limits, injected 500s and dropped connections."""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field


class TokenBucket:
    """`rate` requests per second with a one-second burst, refilled continuously."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.stamp = time.monotonic()

    def _refill(self, now: float) -> None:
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def available(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= 1

    def take(self) -> None:
        self.tokens -= 1


@dataclass
class Faults:
    latency_ms: float = 0.0
    per_endpoint_rps: float | None = None
    global_rps: float | None = None
    error_rate: float = 0.0
    seed: int = 0
    drop_rate: float = 0.0  # share of requests whose connection closes with no response
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)
    _rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self._rng.seed(self.seed)
        self._global = TokenBucket(self.global_rps) if self.global_rps else None

    def admit(self, endpoint: str) -> bool:
        """Take a token from the endpoint's bucket and the global one, or refuse (429) taking none."""
        if not (self._global or self.per_endpoint_rps):
            return True
        with self._lock:
            now = time.monotonic()
            bucket = None
            if self.per_endpoint_rps:
                bucket = self._buckets.get(endpoint)
                if bucket is None:
                    bucket = self._buckets[endpoint] = TokenBucket(self.per_endpoint_rps)
                if not bucket.available(now):
                    return False
            if self._global and not self._global.available(now):
                return False
            if bucket:
                bucket.take()
            if self._global:
                self._global.take()
            return True

    def should_fail(self) -> bool:
        if self.error_rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < self.error_rate

    def should_drop(self) -> bool:
        if self.drop_rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < self.drop_rate

    def delay(self) -> float:
        """Seconds to wait before answering: the latency with +-20% jitter."""
        if self.latency_ms <= 0:
            return 0.0
        with self._lock:
            jitter = self._rng.uniform(0.8, 1.2)
        return self.latency_ms * jitter / 1000
