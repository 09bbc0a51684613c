"""Rate limits per API key or user: a token bucket per client, kept in this process's memory.

One server process serves the portal and the API (DuckDB lets one process open the file), so a bucket in
memory sees every call; several processes (PostgreSQL behind a load balancer) would each allow the rate.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from api.errors import RateLimitedError


@dataclass
class TokenBuckets:
    """`rate` requests a second on average, bursts of up to `burst`; `clock` is injectable for tests."""

    rate: float = 20.0
    burst: float = 100.0
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, client: str) -> None:
        """Spend one token of `client`'s bucket, or raise RateLimitedError with the seconds to wait."""
        with self._lock:
            now = self.clock()
            tokens, then = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if tokens < 1:
                self._buckets[client] = (tokens, now)
                raise RateLimitedError(max(1, math.ceil((1 - tokens) / self.rate)))
            self._buckets[client] = (tokens - 1, now)
            if len(self._buckets) > 10_000:  # forget full buckets: they are what a new one starts as
                self._buckets = {k: v for k, v in self._buckets.items()
                                 if min(self.burst, v[0] + (now - v[1]) * self.rate) < self.burst}
