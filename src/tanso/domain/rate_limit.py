"""Token buckets: how many requests a caller may make, on average and in a burst.

Pure: the caller passes the time (seconds, any monotonic origin). A bucket holds at most
``burst`` tokens, refills at ``rate`` tokens a second, and each request takes one; an empty
bucket says how long until the next token (the Retry-After a client is given).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(slots=True)
class TokenBucket:
    rate: float
    burst: int
    tokens: float = -1.0
    last: float = 0.0

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        if self.tokens < 0:
            self.tokens = float(self.burst)

    def _refill(self, now: float) -> None:
        if now > self.last:
            self.tokens = min(float(self.burst), self.tokens + (now - self.last) * self.rate)
            self.last = now

    def take(self, now: float) -> float:
        """Take a token: 0.0 when allowed, else the seconds until one is available."""
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def full(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= self.burst


@dataclass(slots=True)
class Limiter:
    """One token bucket per key (an API key, a client address), created on first use.

    Buckets that have refilled completely are forgotten when there are more than
    ``max_keys``, so memory stays bounded however many keys are seen."""

    rate: float
    burst: int
    max_keys: int = 100_000
    buckets: dict[str, TokenBucket] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return self.rate > 0 and self.burst >= 1

    def take(self, key: str, now: float) -> float:
        """0.0 when ``key`` may make a request now, else the seconds to wait."""
        if not self.enabled:
            return 0.0
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= self.max_keys:
                self.prune(now)
            bucket = self.buckets[key] = TokenBucket(self.rate, self.burst, last=now)
        return bucket.take(now)

    def prune(self, now: float) -> None:
        for key in [k for k, b in self.buckets.items() if b.full(now)]:
            del self.buckets[key]


def retry_after(wait: float) -> int:
    """The Retry-After header value (whole seconds, at least 1) for a wait in seconds."""
    return max(1, math.ceil(wait))
