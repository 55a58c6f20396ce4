"""Token buckets: a burst, then the average rate, and an honest Retry-After."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tanso.domain.rate_limit import (
    Client,
    Limiter,
    TokenBucket,
    client_of,
    parse_networks,
    retry_after,
)


def test_a_bucket_allows_its_burst_then_refuses_until_a_token_returns() -> None:
    b = TokenBucket(rate=2.0, burst=3, last=0.0)
    assert [b.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = b.take(0.0)
    assert wait == pytest.approx(0.5)
    assert b.take(0.25) == pytest.approx(0.25)
    assert b.take(0.5) == 0.0
    assert retry_after(0.01) == 1 and retry_after(1.2) == 2


@given(
    rate=st.floats(0.1, 1_000),
    burst=st.integers(1, 500),
    gaps=st.lists(st.floats(0, 5), min_size=1, max_size=300),
)
def test_no_caller_ever_gets_more_than_the_burst_plus_the_rate(
    rate: float, burst: int, gaps: list[float]
) -> None:
    b = TokenBucket(rate, burst, last=0.0)
    now, allowed = 0.0, 0
    for gap in gaps:
        now += gap
        wait = b.take(now)
        if wait == 0.0:
            allowed += 1
        else:
            assert wait > 0 and wait <= 1 / rate + 1e-9
            # waiting as long as told is enough
            probe = TokenBucket(b.rate, b.burst, b.tokens, b.last)
            assert probe.take(now + wait + 1e-9) == 0.0
    assert allowed <= burst + now * rate + 1e-6


def test_a_limiter_keeps_one_bucket_per_key_and_forgets_full_ones() -> None:
    lim = Limiter(rate=1.0, burst=1, max_keys=2)
    assert lim.take("a", 0.0) == 0.0 and lim.take("a", 0.0) > 0
    assert lim.take("b", 0.0) == 0.0
    assert lim.take("c", 10.0) == 0.0  # a and b have refilled and are forgotten
    assert set(lim.buckets) == {"c"}
    assert Limiter(rate=0, burst=5).take("x", 0.0) == 0.0  # no limit


def test_a_bucket_refuses_a_nonsense_configuration() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0, 1)
    with pytest.raises(ValueError):
        TokenBucket(1, 0)


# ---------------------------------------------------------------- whose bucket

PROXIES = parse_networks("10.0.0.0/8, 127.0.0.1 ::1")


def test_forwarded_for_names_the_client_only_when_the_peer_is_a_trusted_proxy() -> None:
    assert client_of("10.1.2.3", "203.0.113.9", PROXIES) == Client("203.0.113.9", local=False)
    # from the right: the first hop that is not a proxy; what the client wrote to its left is
    # not believed
    hops = "198.51.100.1, 203.0.113.9:4711, 10.9.9.9"
    assert client_of("127.0.0.1", hops, PROXIES) == Client("203.0.113.9", local=False)
    assert client_of("::1", "[2001:db8::1]:443", PROXIES).address == "2001:db8::1"
    # an untrusted peer's header is ignored: the peer is the client
    assert client_of("198.51.100.7", "203.0.113.9", PROXIES) == Client("198.51.100.7", False)
    assert client_of("198.51.100.7", None, ()) == Client("198.51.100.7", local=False)
    # every hop a proxy: the farthest
    assert client_of("10.0.0.1", "10.0.0.2, 10.0.0.3", PROXIES).address == "10.0.0.2"


def test_a_forwarded_entry_that_is_not_an_address_is_a_key_of_its_own_never_local() -> None:
    unknown = client_of("127.0.0.1", "unknown", PROXIES)
    assert unknown == Client("unknown", local=False)
    assert client_of("127.0.0.1", "203.0.113.9, _hidden", PROXIES).address == "_hidden"
    assert client_of("127.0.0.1", "127.0.0.1", PROXIES).local is False  # written by a client?
    # the server's own peer: the loopback and in-process clients are local, as before
    assert client_of("127.0.0.1", None, PROXIES).local
    assert client_of("testclient", "unknown", PROXIES) == Client("testclient", local=True)
    assert client_of(None, None, PROXIES).local


def test_trusted_proxies_refuse_what_is_not_an_address_or_network() -> None:
    assert parse_networks("") == ()
    with pytest.raises(ValueError, match=r"proxy\.example"):
        parse_networks("10.0.0.0/8,proxy.example")
