"""Token buckets: how many requests a caller may make, on average and in a burst.

Pure: the caller passes the time (seconds, any monotonic origin). A bucket holds at most
``burst`` tokens, refills at ``rate`` tokens a second, and each request takes one; an empty
bucket says how long until the next token (the Retry-After a client is given).

Whose bucket a request takes from is its client's address: the connection's peer, or, when the
peer is one of the configured trusted proxies, the address those proxies put in
X-Forwarded-For (``client_of``).
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


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


# ---------------------------------------------------------------- whose bucket


@dataclass(frozen=True, slots=True)
class Client:
    """Where a request comes from: the key of its address bucket, and whether it is local (the
    loopback, a unix socket or an in-process client, which are not limited by default)."""

    address: str | None
    local: bool


def parse_networks(text: str) -> tuple[Network, ...]:
    """Networks from a list of addresses and CIDRs separated by commas or spaces (ValueError
    names the first entry that is neither)."""
    out: list[Network] = []
    for entry in text.replace(",", " ").split():
        try:
            out.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network (CIDR)") from None
    return tuple(out)


def _address(text: str) -> Address | None:
    """An X-Forwarded-For entry as an address: ``a.b.c.d``, ``a.b.c.d:port``, an IPv6 address,
    ``[v6]`` or ``[v6]:port``; None when it is none of these."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else text
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _within(address: Address, networks: Iterable[Network]) -> bool:
    return any(address.version == n.version and address in n for n in networks)


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() and c != " " else "?" for c in text.strip())[:64]


def client_of(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> Client:
    """The client of a request from ``peer`` (the connection's address, as the server gives it)
    with an X-Forwarded-For header (None: none).

    X-Forwarded-For is read only when the peer is a trusted proxy: from the right, the first entry
    that is not a trusted proxy is the client (the proxies append, the client may have written
    anything to the left). An entry that is not an address is a key of its own; nothing read
    from the header is local, since a proxy that passes it on unchanged lets a client write it."""
    try:
        peer_address: Address | None = ipaddress.ip_address(peer) if peer else None
    except ValueError:
        peer_address = None  # an in-process client ("testclient") or a unix socket
    if peer_address is None:
        return Client(peer, local=True)
    if not forwarded_for or not _within(peer_address, trusted):
        return Client(peer, local=peer_address.is_loopback)
    hops = [hop for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return Client(_printable(hop) or "?", local=False)
        if not _within(address, trusted):
            return Client(str(address), local=False)
    # every hop is a trusted proxy: the farthest one is the client
    first = _address(hops[0]) if hops else None
    if first is None:
        return Client(peer, local=peer_address.is_loopback)
    return Client(str(first), local=False)
